"""The console without the stack: its role table, sign-in rules and words for failures."""
