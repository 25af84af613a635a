"""What people see, made from an assessment: the clinic letter, the
CLI summary, the patient view and PDF handout, teaching, the Consultation page's computation
and its form."""
