// Package crm owns what callplane knows about the people it calls: contacts and customers,
// custom field definitions (JSONB), tags, dispositions, follow-ups, bulk import and export,
// phone masking by role, field encryption (AES-256-GCM; SM4 where required), the call and
// recording index, QA (sampling, keyword rules, scorecards) and reports.
//
// So far it holds the pure logic those rest on:
//   - PhoneNormalizer.Normalize turns a phone number as people, spreadsheets and CRMs
//     write it into E.164, with a plain-English reason when it cannot; RegionOf and
//     TimeZonesOf tell where a number is, for calling hours.
//   - MaskPhone hides the middle digits of a number for roles that may not see it.
//   - ParseCSV and ParseJSON split a contact-list upload into rows to import and rows
//     rejected with their line (or array index) and reason, keeping every good row.
//
// Imports: the standard library, sqlx, and well-kept libraries for data formats
// (github.com/nyaruka/phonenumbers, golang.org/x/text). Never another callplane package:
// campaigns imports crm, not the other way round.
//
// Concurrency: everything here is a pure function of its arguments or a value type with no
// mutable state, safe for concurrent use. ParseCSV and ParseJSON read their io.Reader from
// one goroutine and stream it; a CSV upload is never held in memory whole, a JSON upload
// one element at a time.
package crm
