"""API sources: pull ticket histories from helpdesk and PSA APIs with dlt into the landing path."""
