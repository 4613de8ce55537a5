"""Business rules as SQL builders: business time, response-time SLA, classification, semantic vote."""
