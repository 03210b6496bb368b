"""Read counts (阅读数据): figures pulled back from the platforms for what the hub published."""
