"""`pathway serve`: the referral form in a browser with the live checklist beside it, and a JSON API."""
