"""A row comparison like support/rows.py's, for the report's known run (copied in as
fixture_rows.py). Its asserts are rewritten by pytest (the conftest registers it), so the
report must drop pytest's introspection and keep the message."""


def same_rows(server, oracle, fields=("hostname", "os")):
    """Each server row agrees with Velociraptor's row of the same client on ``fields``."""
    known = {row["client_id"]: row for row in oracle}
    for row in server:
        theirs = known[row["client_id"]]
        for name in fields:
            assert row[name] == theirs[name], (
                f"client {row['client_id']}: the server says {name} `{row[name]}`, "
                f"Velociraptor says `{theirs[name]}`"
            )
