"""One handler object per spec: methods named after the spec's operationIds."""
