// Regenerates lib/ops/deidentify/confidentiality-profile.json, PS3.15 Table E.1-1 (the Basic
// Application Level Confidentiality Profile and its options), from innolitics/dicom-standard's parse of
// the standard (https://github.com/innolitics/dicom-standard, standard/confidentiality_profile_attributes.json):
//   git clone https://github.com/innolitics/dicom-standard && cd dicom-standard && git log -1 --format=%H
//   node scripts/deid-profile.js dicom-standard/standard/confidentiality_profile_attributes.json 2024b <commit>
// The edition is the one named in that repository's commit message ("Update standard to rev2024b").
const fs = require('node:fs');
const path = require('node:path');

const [source, edition, commit] = process.argv.slice(2);
if (!source || !edition || !commit) {
  console.error('usage: node scripts/deid-profile.js confidentiality_profile_attributes.json EDITION COMMIT');
  process.exit(2);
}
/** The option columns of Table E.1-1, by the names innolitics gives them. */
const OPTIONS = {
  rtnSafePrivOpt: 'retainSafePrivate', rtnUIDsOpt: 'retainUIDs', rtnDevIdOpt: 'retainDeviceIdentity',
  rtnInstIdOpt: 'retainInstitutionIdentity', rtnPatCharsOpt: 'retainPatientCharacteristics',
  rtnLongFullDatesOpt: 'retainLongitudinalFullDates', rtnLongModifDatesOpt: 'retainLongitudinalModifiedDates',
  cleanDescOpt: 'cleanDescriptors', cleanStructContOpt: 'cleanStructuredContent', cleanGraphOpt: 'cleanGraphics',
};
const rows = JSON.parse(fs.readFileSync(source, 'utf8'));
const attributes = rows.map((row) => {
  const options = {};
  for (const [column, name] of Object.entries(OPTIONS)) if (row[column]) options[name] = row[column];
  // "(0010,0010)" -> "00100010"; the repeating groups keep their "XX" (50XX,XXXX), (60XX,4000).
  const tag = row.tag.startsWith('(GGGG,EEEE)') ? 'private' : row.tag.replace(/[(),]/g, '').toUpperCase();
  return { tag, name: row.name, basic: row.basicProfile, ...(Object.keys(options).length ? { options } : {}) };
}).sort((a, b) => a.tag.localeCompare(b.tag));
const lines = attributes.map((a) => `    ${JSON.stringify(a)}`);
const text = `{
  "standard": "DICOM PS3.15 ${edition}, Table E.1-1 Application Level Confidentiality Profile Attributes",
  "source": "https://github.com/innolitics/dicom-standard standard/confidentiality_profile_attributes.json at commit ${commit}",
  "generatedBy": "scripts/deid-profile.js",
  "attributes": [
${lines.join(',\n')}
  ]
}
`;
fs.writeFileSync(path.join(__dirname, '..', 'lib', 'ops', 'deidentify', 'confidentiality-profile.json'), text);
console.log(`${attributes.length} attributes written`);
