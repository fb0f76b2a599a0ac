// The series one retrieve filed, from the instances as they were filed: a C-GET's final response
// says when they are complete, so no timeout is needed (px-listen's SeriesTracker waits for one).
import path from 'node:path';
import type { SeriesComplete } from './series';
import type { InstancePayload } from './file-instance';

export class RetrievedSeries {
  private readonly bySeries = new Map<string, SeriesComplete & { known: Set<string> }>();

  /** One filed instance: its series folder gains the file (a duplicate replaces itself). */
  add(instance: InstancePayload): void {
    const folder = path.dirname(instance.path);
    let series = this.bySeries.get(folder);
    if (!series) {
      series = { StudyInstanceUID: instance.StudyInstanceUID, SeriesInstanceUID: instance.SeriesInstanceUID, PatientID: instance.PatientID, path: folder, files: [], count: 0, known: new Set() };
      this.bySeries.set(folder, series);
    }
    if (series.known.has(instance.path)) return;
    series.known.add(instance.path);
    series.files.push(instance.path);
    series.count = series.files.length;
  }

  /** Every series filed, each with its files sorted (the instance number leads each name). */
  list(): SeriesComplete[] {
    return [...this.bySeries.values()].map(({ known: _known, ...s }) => ({ ...s, files: [...s.files].sort() }));
  }
}
