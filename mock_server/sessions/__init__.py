"""Sessions: the stored row and its derived status, create and update requests, the store
with every Sessions rule, listing and its indexes. No HTTP here."""
