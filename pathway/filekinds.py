"""Which files hold referrals, by suffix: shared by the readers and by the audit's sizing,
which runs before anything heavy is imported (this module imports nothing)."""

REFERRAL_SUFFIXES = (".yaml", ".yml", ".json")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
CSV_SUFFIXES = (".csv",)
ALL_SUFFIXES = REFERRAL_SUFFIXES + JSONL_SUFFIXES + CSV_SUFFIXES
MANY_SUFFIXES = JSONL_SUFFIXES + CSV_SUFFIXES
"""Files of many referrals, which the audit cuts into batches of records (the others go in batches of files)."""
