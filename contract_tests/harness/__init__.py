"""The contract suite's machinery: what a rule file uses, and never a rule itself."""
