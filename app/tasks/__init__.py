"""民办: carrying out a passed decision — 任务分工, progress updates with photos, volunteers."""
