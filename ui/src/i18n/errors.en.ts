// The UI's sentence for every error code a tablet user can be shown, in
// English. Same codes as errors.zh.ts (the type enforces it).

import type { ErrorCode } from "../bindings/ErrorCode";

/** The server could not read what the app sent: only an outdated or broken app does that. */
const BAD_REQUEST = "The server refused the app's request; update the app and try again.";
/** The same, for an evidence upload. */
const BAD_UPLOAD = "The server refused the app's upload; update the app and try again.";
/** One sync carried more than the server takes at once. */
const TOO_MUCH =
  "This sync was more than the server accepts at once; try again later, and call your administrator if it persists.";

export const errorsEn: Readonly<Record<ErrorCode, string>> = {
  // The app shell and the UI's own.
  "app.bad_request": "Something went wrong inside the app; restart it, and update the app or call your administrator if it happens again.",
  "app.data_dir": "The app could not create its data folder on this tablet; check the free space.",
  "app.store_unavailable": "The data on this tablet is unavailable; restart the app and try again.",
  "app.bad_signature": "The signature image is not valid. Clear the pad and sign again.",
  "app.bad_stored_actor": "The enrollment saved on this tablet is damaged; ask your administrator to enroll the tablet again.",
  "app.server_missing": "The server address is missing; scan the enrollment QR code, or enter the server address and enroll again.",
  "app.bad_server_address": "The server address is not valid: it must start with http:// or https://. Check it and type it again.",
  "app.bad_position": "The location reading was not valid and was not recorded; you can carry on.",
  "ipc.failed": "The app's backend could not be reached.",

  // The tablet's database.
  "store.open": "The database on this tablet could not be opened; check the free space and restart the app.",
  "store.sqlite": "The database on this tablet failed; restart the app, and call your administrator if it happens again.",
  "store.migration": "The database on this tablet could not be upgraded; call your administrator.",
  "store.not_found": "This task is not on this tablet; sync first.",
  "store.exists": "This task is already on this tablet; open it from the task list.",
  "store.damaged": "A task saved on this tablet is damaged; sync and try again, and call your administrator if it persists.",
  "store.not_set_aside": "An edit the server refused could not be set aside on this tablet; call your administrator.",

  // Operations on a task.
  "task.malformed": "The task's data is damaged and cannot be used; sync and try again, and call your administrator if it persists.",
  "task.create_not_allowed": "Only supervisors and administrators can create inspection tasks.",
  "task.acts_for_another": "This tablet is enrolled for another inspector and cannot record in your name; call your administrator.",
  "task.not_an_inspector": "You may not do this (only the task's inspectors may change its record).",
  "task.not_a_decision": "This is not a review decision and cannot be recorded; update the app and try again.",
  "task.frozen": "The task has been submitted or closed: its record is locked.",
  "task.submit_blocked": "Some things are still open, so the task cannot be submitted yet; deal with them first.",
  "task.too_few_inspectors": "This task has too few inspectors; ask the supervisor to change the task.",
  "task.empty_checklist": "This task's checklist is empty; ask the supervisor to add the items.",
  "task.bad_window": "This task's dates are wrong (it is due before it starts); call the supervisor.",
  "task.unknown_item": "This checklist item was not found; sync and try again.",
  "task.unknown_evidence": "This evidence was not found; sync and try again.",
  "task.duplicate_evidence": "This photo has already been added.",
  "task.bad_hash": "An evidence file's identifier is not valid; sync and try again, and call your administrator if it persists.",
  "task.reason_required": "Please give a reason.",
  "task.signer_required": "Please give the signer's name.",
  "task.finding_description": "Please describe the finding.",
  "task.rectification_incomplete": "A rectification order needs both the order and a deadline.",
  "task.transfer_incomplete": "A transfer needs the receiving department and a summary of the lead.",
  "task.no_conflict": "This conflict has already been resolved (perhaps by a colleague just now).",
  "task.not_scalar": "A conflict is resolved by keeping one single value; choose again.",
  "task.not_a_conflicting_value": "The chosen value is not one of the conflicting values; choose again.",
  "task.value_does_not_fit": "This value does not fit here; enter or choose another one.",
  "task.demo_data": "The demo data cannot be used; reinstall the app or call your administrator.",

  // Status changes.
  "status.role_not_allowed": "Your role cannot take this step.",
  "status.not_on_task": "You are not one of this task's inspectors, so you cannot take this step.",
  "status.wrong_status": "This step is not possible in the task's current status; sync and check the status.",
  "status.comment_required": "This step needs a comment or a reason.",
  "status.transition": "This step does not apply to the task as it stands.",
  "status.submit_problems": "The record on the server cannot be submitted yet; deal with the problems the submit check lists.",

  // Edits the server's write rules refused.
  "policy.not_on_task": "You are not one of this task's inspectors, so you cannot change it.",
  "policy.forbidden_field": "This part of the task is set by the supervisor and cannot be changed on the tablet.",
  "policy.append_only": "Existing records cannot be changed or removed.",
  "policy.not_yours": "Records are made in your own name, and you can only change evidence you took.",
  "policy.bad_value": "The value does not have the right form.",
  "policy.too_long": "The text is too long; shorten it and try again.",
  "policy.frozen": "The task is submitted or reviewed and can no longer be changed; wait for it to be returned.",
  "policy.event_not_allowed": "Your role cannot record this step.",

  // Photos and evidence files.
  "photo.empty": "The photo file is empty. Please take it again.",
  "photo.unsupported": "This image format is not supported. Use a JPEG, PNG or WebP photo (the camera's own photos work).",
  "photo.corrupt": "The photo is damaged or incomplete. Take it again or copy the file again.",
  "photo.too_large": "The photo's resolution is too high. Lower the camera resolution and take it again.",
  "photo.derive_failed": "The photo could not be processed. Try again; if it keeps failing, contact the administrator.",
  "blob.bad_id": "An evidence file's identifier is not valid; sync and try again, and call your administrator if it persists.",
  "blob.not_found": "This evidence file is not on this tablet yet; sync, then look again.",
  "blob.corrupt": "An evidence file saved on this tablet is damaged; sync and try again, and call your administrator if it persists.",
  "blob.io": "Evidence files could not be read or written; check the free space and try again, and call your administrator if it persists.",
  "blob.tus_version": BAD_UPLOAD,
  "blob.bad_header": BAD_UPLOAD,
  "blob.bad_content_type": BAD_UPLOAD,
  "blob.too_large": "The evidence file is larger than the server accepts and cannot be uploaded; call your administrator.",
  "blob.chunk_too_large": BAD_UPLOAD,
  "blob.beyond_length": BAD_UPLOAD,
  "blob.bad_body": "The upload of an evidence file was interrupted; it will continue by itself.",
  "blob.upload_not_found": "The server has no record of this upload; sync again later, and call your administrator if it persists.",
  "blob.offset_mismatch": "The upload got out of step with the server; sync again.",
  "blob.hash_mismatch": "An evidence file was damaged on its way and the server did not take it; sync again.",
  "blob.quota": "This tablet has used up its upload allowance for now; sync again later, or call your administrator if it is urgent.",
  "upload.network": "The server cannot be reached, so the upload stopped; it continues when the network is back.",
  "upload.unauthorized": "The server does not accept files from this tablet; ask your administrator to enroll it again.",
  "upload.too_large": "The evidence file is larger than the server accepts and cannot be uploaded; call your administrator.",
  "upload.hash_mismatch": "An evidence file was damaged on its way and the server did not take it; sync again.",
  "upload.rejected": "The server refused an evidence file; call your administrator.",
  "upload.protocol": "The server's answer to an upload was not understood; check the server address or update the app.",

  // QR codes.
  "qr.too_long": "The link is too long for a QR code; ask your administrator for a shorter server address.",
  "qr.render_failed": "The QR code could not be drawn; try again, and call your administrator if it keeps failing.",
  "qr.not_found": "No QR code could be read in the picture; take a sharper picture, or type the enrollment code.",

  // Unified social credit codes.
  "uscc.length": "A unified social credit code has 18 characters; check it and type it again.",
  "uscc.character": "The unified social credit code contains a character that is not allowed; check it and type it again.",
  "uscc.division": "Characters 3 to 8 of a unified social credit code are an administrative division code; check it and type it again.",
  "uscc.check_digit": "The last character of the unified social credit code does not match, probably a typo; check it and type it again.",

  // Enrollment, sign-in and sync.
  "enroll.bad_text": "This is not a Fieldloop enrollment code. Check it, or scan the QR code again.",
  "enroll.bad_code": "The enrollment code is wrong, already used or expired. Ask your administrator for a new one.",
  "console.no_session": "Sign in first.",
  "console.session_expired": "Your session expired. Sign in again.",
  "console.csrf": "This page is out of date. Reload it and try again.",
  "console.bad_login": "Wrong user name or password.",
  "console.locked": "Too many failed sign-ins: the account is locked for 15 minutes. Try again later.",
  "console.bad_query": "The list's filter has a value the server does not understand. Reset the filter.",
  "console.not_found": "That task or file is not among your teams' records. It may have been moved to another team.",
  "console.forbidden": "You do not act for that team. Ask an administrator to add it to your account.",
  "console.bad_input": "The task cannot be made as entered. Check the subject, items, team, inspectors and dates.",
  "console.import_invalid": "The file has problems (listed by line); nothing was imported. Fix them and import it again.",
  "enroll.rate_limited": "Too many attempts. Wait a minute, then try again.",
  "auth.missing": "The server did not receive this tablet's credentials; ask your administrator to enroll it again.",
  "auth.malformed": "The server could not read this tablet's credentials; update the app, or ask your administrator to enroll it again.",
  "auth.bad_token": "The server does not know this tablet; ask your administrator to enroll it again.",
  "auth.revoked": "The administrator has switched this tablet off; ask them to enroll it again.",
  "auth.inactive": "This tablet's inspector has been deactivated; call your administrator.",
  "auth.wrong_role": "This account cannot sync on a tablet; enroll with an inspector's code.",
  "sync.network": "The server cannot be reached; check the network.",
  "sync.http": "The server answered with an error; try again later, and check the server address or call your administrator if it persists.",
  "sync.not_enrolled": "This tablet is not enrolled yet; scan the enrollment QR code first.",
  "sync.bad_answer": "The server's answer could not be read; update the app.",
  "sync.blob_folder": "The evidence folder on this tablet cannot be opened; check the free space and restart the app.",
  "sync.too_many_rounds": "There is a lot to sync; it will continue shortly.",
  "sync.unrepaired": "Some tasks stayed unusable after being fetched again from the server; sync will retry, call your administrator if it persists.",
  "sync.content_type": BAD_REQUEST,
  "sync.bad_message": BAD_REQUEST,
  "sync.version": "This app is too old to sync with the server; update the app.",
  "sync.bad_hash": BAD_REQUEST,
  "sync.bad_changes": BAD_REQUEST,
  "sync.too_many_docs": TOO_MUCH,
  "sync.too_many_changes": TOO_MUCH,
  "sync.too_many_ops": TOO_MUCH,
  "sync.doc_too_large": "This task's record has grown larger than the server accepts, so new edits cannot be saved; call your administrator.",
  "sync.duplicate_doc": BAD_REQUEST,
  "sync.forbidden": "This task does not belong to this tablet's team, so the server refused to sync it; call your administrator.",
  "sync.actor_mismatch": "The server refused an edit that was not made by this tablet.",
  "sync.invalid_task": "The server refused an edit that would have made the task invalid.",
  "review.not_found": "This task was not found in your team; refresh and try again.",

  // The server's answers to any request.
  "http.not_found": "The server does not offer what the app asked for; check the server address or update the app.",
  "http.method_not_allowed": BAD_REQUEST,
  "http.content_type": BAD_REQUEST,
  "http.bad_json": BAD_REQUEST,
  "http.too_large": "What the app sent is more than the server accepts; call your administrator.",
  "http.bad_request": BAD_REQUEST,
  "http.timeout": "The server took too long to answer; check the network and try again.",
  "server.not_found": "The server does not know this tablet or its inspector; ask your administrator to enroll the tablet again.",
  "server.busy": "The server is busy; try again in a moment.",
  "server.internal": "Something went wrong on the server; try again later, and call your administrator if it persists.",
  "server.unknown": "The server answered with an error this app does not know; update the app and try again.",
};
