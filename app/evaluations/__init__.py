"""民评: residents evaluate how a decision was carried out (DOMAIN.md §5.4, §8)."""
