"""dibao-monitor: 低收入人口动态监测 pipeline."""
