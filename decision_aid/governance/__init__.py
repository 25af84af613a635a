"""Knowledge governance: what a rule change does to a cohort (`rules diff`), the knowledge change
log and content hash (`rules check`, `rules stamp`), and appropriateness audits of whole cohorts
(`audit`).

Modules, one job each: `folders` (rules folders from a path or a git ref, the shipped examples),
`cohort` (the default cohort and cohort files), `passes` (verdicts, reasons and rules fired per
patient, in this process or by the cohort runner), `diff` and `audit` (the reports as plain data),
`diff_report`, `audit_report`, `charts` and `page` (Markdown, JSON, self-contained HTML with inline
SVG), `changelog` (content hash, change log, the checks of `rules check`), `stamp` (`rules stamp`),
`commands` (the command line), `bench` (the benchmark's `rules diff` figure).
"""
