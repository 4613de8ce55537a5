"""API sources: pull ticket histories from helpdesk and PSA APIs with dlt into the landing path."""

import os

# dlt reports anonymous usage to dltHub by default; client data never leaves the machine, and
# neither does anything about how it is processed.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
