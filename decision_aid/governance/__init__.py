"""Knowledge governance: what a rule change does to a cohort (`rules diff`), the knowledge change
log and content hash (`rules check`, `rules stamp`), and appropriateness audits of whole cohorts
(`audit`).

Modules, one job each: `folders` (rules folders from a path or a git ref, the shipped examples),
`cohort` (the default cohort and cohort files), `passes` (verdicts, reasons and rules fired per
patient), `diff` and `audit` (the reports as plain data), `render` and `charts` (Markdown, JSON,
self-contained HTML), `changelog` (hash, change log, stamp), `commands` (the command line).
"""
