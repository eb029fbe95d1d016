/** Pure: calendar months written `YYYY-MM`, as the coverage picture lays them across. */

/** The first instant (UTC) of a `YYYY-MM` month, `months` later; NaN when it is not one. */
export function monthMs(month: string, months = 0): number {
  const match = /^(\d{4})-(\d{2})$/.exec(month);
  if (!match) return NaN;
  return Date.UTC(Number(match[1]), Number(match[2]) - 1 + months, 1);
}

/** The `YYYY-MM` of an instant. */
export const monthOf = (ms: number): string => new Date(ms).toISOString().slice(0, 7);

/** Every month from `from` to `to`, both included (at most `max`); none when either is not a month or to < from. */
export function monthsBetween(from: string, to: string, max = 1200): string[] {
  const months: string[] = [];
  const end = monthMs(to);
  for (let at = monthMs(from); at <= end && months.length < max; at = monthMs(monthOf(at), 1)) months.push(monthOf(at));
  return months;
}

/** The months across a picture of these spans: from the earliest first month to the latest last one (spans of none left out). */
export function axisOf(spans: readonly { first_month: string | null; last_month: string | null }[]): string[] {
  const firsts = spans.flatMap((span) => (span.first_month === null ? [] : [span.first_month]));
  const lasts = spans.flatMap((span) => (span.last_month === null ? [] : [span.last_month]));
  if (firsts.length === 0 || lasts.length === 0) return [];
  return monthsBetween(firsts.reduce((a, b) => (b < a ? b : a)), lasts.reduce((a, b) => (b > a ? b : a)));
}

/** Where each year starts on an axis, and how many of its months it shows: the labels above the months. */
export function yearsOf(axis: readonly string[]): { year: string; months: number }[] {
  const years: { year: string; months: number }[] = [];
  for (const month of axis) {
    const year = month.slice(0, 4);
    const last = years.at(-1);
    if (last?.year === year) last.months++;
    else years.push({ year, months: 1 });
  }
  return years;
}
