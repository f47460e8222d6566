"""Reading what a user gives: every file through one door (`door`), and the JSON reader."""
