/** Which colour a chart option draws each run (series or point) in, by its label: read back for checks. */
type Series = { name?: string; type: string; color?: string; lineStyle?: { color?: string; opacity?: number }; data?: unknown[] };

export function chartColours(option: { series: readonly object[]; xAxis?: unknown }): Record<string, string> {
  const out: Record<string, string> = {};
  const categories = (option.xAxis as { data?: string[] } | undefined)?.data;
  for (const s of option.series as Series[]) {
    const own = s.color ?? s.lineStyle?.color;
    if (own && s.name && s.name !== 'Pareto front') out[s.name] = own;
    else if (s.type === 'scatter' || (s.type === 'bar' && categories)) {
      // One colour per point: scatter points named by run, bars by their category (the run).
      s.data?.forEach((d, i) => {
        const item = d as { name?: string; itemStyle?: { color?: string } };
        const name = item?.name ?? categories?.[i];
        if (name && item?.itemStyle?.color) out[name] = item.itemStyle.color;
      });
    }
  }
  return out;
}
