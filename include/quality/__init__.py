"""The Great Expectations quality gate and its data docs."""

import os

# Before any module of the package imports Great Expectations: no usage analytics sent home.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
