"""Connections to electronic records: a FHIR R4 bundle read into a patient's factors with where
each came from (`fhir_bundle`, `fhir_codes` from rules/fhir_codes.yaml, `fhir_import`, and
`fhir_text` for the words that show it), and the CDS Hooks service that answers a record
system with cards (`cds_*`)."""
