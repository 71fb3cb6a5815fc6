"""议事厅 — a community consultation platform for the 五民协商 pipeline."""
