"""吹哨报到: the hall escalates to the 街道, which dispatches to a department (DOMAIN.md §5)."""
