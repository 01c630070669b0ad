"""`pathway audit`: how completely many referrals are documented, item by item.

The audit reads folders of referral files, JSONL and CSV, and counts each
item's statuses over every referral; it lists the least complete referrals
and every record that could not be evaluated, with its source and reason.
Completeness describes a referral's documentation, never a child.

Layout, from the inputs to the page:
- `sources`  cuts the inputs into tasks of about one batch (byte ranges, rows, files);
- `service`  runs every task through one function (`run_task`), here in two
             threads or on a Dask cluster (`cluster`), and merges in task order;
- `rows`     the row engine: each record decided exactly as `pathway check` does
             (`rowpath`), no Polars; the reference, and the quicker for small inputs;
- `task`     the columnar engine: `chunks` reads a task's raw cells, `codec`
             validates them column by column (accepting only what the row validator
             would accept with the same values), `columnar` compiles the condition
             tree into Polars expressions (Kleene logic); what it is unsure of goes
             to the row path, `jsonline` re-reading a JSONL line with positions;
- `aggregate` merges results in input order; `page`, `chart`, `progress` and
  `command` are the front end.
"""
