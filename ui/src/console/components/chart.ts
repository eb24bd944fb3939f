// What a click on an ECharts chart tells (EChart.vue's `click` event).

export interface ChartClick {
  name: string;
  seriesId?: string | undefined;
  seriesName?: string | undefined;
  dataIndex: number;
  data: unknown;
}
