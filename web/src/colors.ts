/** Chinese convention: red up, green down (kept apart from charts.ts so importing a
 * colour never pulls ECharts into a chunk). */
export const UP = '#d9363e'
export const DOWN = '#1a9850'
