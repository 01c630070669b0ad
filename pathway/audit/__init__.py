"""`pathway audit`: how completely many referrals are documented, item by item.

The audit reads folders of referral files, JSONL and CSV, and counts each
item's statuses over every referral; it lists the least complete referrals
and every record that could not be evaluated, with its source and reason.
Completeness describes a referral's documentation, never a child.

Layout, from the inputs to the page:
- `sources`  cuts the inputs into tasks of about one batch (main process);
- `chunks`   reads one task: raw cells for the columnar path (worker);
- `codec`    validates and normalises cells column by column, accepting only
             what the row validator would accept with the same values;
- `columnar` compiles the condition tree into Polars expressions (Kleene logic);
- `rowpath`  decides everything else exactly as `pathway check` does;
- `jsonline` re-reads a JSONL line with positions, fast when it is plain;
- `task`     one task start to finish; `run` runs tasks in worker processes;
- `aggregate` merges results in input order; `page`, `chart`, `progress`,
  `service` and `command` are the front end.
"""
