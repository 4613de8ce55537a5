"""The staging layer's SQL: rules that judge raw rows, and the statements that stage each entity."""
