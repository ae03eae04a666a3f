"""The database stack."""

import pulumi

pulumi.export("endpoint", "db.internal:5432")
