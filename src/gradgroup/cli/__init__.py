"""Console entry points: each parses its arguments, calls the library, and reports.

Every command reports a user error one way (`gradgroup.cli.report`): the message, naming the key or
file at fault, on stderr, and exit status 2. Heavy imports (torch, Lightning) happen inside the entry
functions that need them, so the light commands start fast.
"""
