"""What the R package `fastai` calls, and nothing else: `convert` (values between R and Python),
`output` (Python's printing to the R console) and `verbs` (the entry point `call`). The core never
imports this subpackage."""
