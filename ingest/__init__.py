"""Reading delivered landing files: discover, scan, read as SQL, register, and load into raw."""
