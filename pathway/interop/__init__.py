"""The pathway's form in other systems' formats: FHIR R4 (`fhir`) and REDCap (`redcap`).

Services keep referral forms in an EHR or in REDCap. Everything here is
generated from the same pathway files as the checklist, so nothing is written
twice, and what comes back is read through the same referral validation, so a
response gets the same checklist as the equivalent referral file. The modules
are pure (data in, data out); `command` is the thin CLI around them.
"""
from __future__ import annotations
