"""Connections to electronic records: a FHIR R4 bundle read into a patient's factors with where
each came from (`fhir_bundle` validates and reduces the bundle, `fhir_codes` and
`fhir_code_types` load and check the code map rules/fhir_codes.yaml, `fhir_import` reads the
resources, `fhir_record` holds the result and completes it with the clinician's answers,
`fhir_text` shows it), and the CDS Hooks service that answers a record system with cards
(`cds_*`)."""
