// The series one retrieve filed, from the instances as they were filed: a C-GET's final response
// says when they are complete, so no timeout is needed (px-listen's SeriesTracker waits for one).
import type { InstancePayload } from './filing';
import type { SeriesComplete } from './series';

export class RetrievedSeries {
  private readonly bySeries = new Map<string, SeriesComplete>();

  /** One filed instance: its series folder gains the file (a duplicate replaces itself). */
  add(instance: InstancePayload): void {
    const folder = instance.path.slice(0, instance.path.lastIndexOf('/'));
    let series = this.bySeries.get(folder);
    if (!series) {
      series = { StudyInstanceUID: instance.StudyInstanceUID, SeriesInstanceUID: instance.SeriesInstanceUID, PatientID: instance.PatientID, path: folder, files: [], count: 0 };
      this.bySeries.set(folder, series);
    }
    if (!series.files.includes(instance.path)) series.files.push(instance.path);
    series.count = series.files.length;
  }

  /** Every series filed, each with its files sorted (the instance number leads each name). */
  list(): SeriesComplete[] {
    return [...this.bySeries.values()].map((s) => ({ ...s, files: [...s.files].sort() }));
  }
}
