// The UI's sentence for every error code a tablet user can be shown, in
// Chinese (the default language). The codes are core's registry
// (core/src/codes.rs), generated into ../bindings/ErrorCode.ts; the type
// makes the check fail when a code has no sentence here. errors.en.ts has the
// same codes; errors.test.ts checks both against ErrorCode.ts.
//
// Each sentence says what happened and what to do next, for an inspector on
// a tablet: no placeholders (the callers fill none), no protocol terms.
// Codes the tablet should never see in normal use (a request the server
// cannot read) ask to update the app.

import type { ErrorCode } from "../bindings/ErrorCode";

/** The server could not read what the app sent: only an outdated or broken app does that. */
const BAD_REQUEST = "服务器拒绝了本应用的请求，请更新应用后重试。";
/** The same, for an evidence upload. */
const BAD_UPLOAD = "服务器拒绝了本应用的上传请求，请更新应用后重试。";
/** One sync carried more than the server takes at once. */
const TOO_MUCH = "本次同步的内容超过了服务器的限制，请稍后重试；如仍出错请联系管理员。";

export const errorsZh: Readonly<Record<ErrorCode, string>> = {
  // The app shell and the UI's own.
  "app.bad_request": "应用内部出错，请重启应用；如仍出错，请更新应用或联系管理员。",
  "app.data_dir": "无法在本机创建数据目录，请检查存储空间。",
  "app.wipe_failed": "本机数据未能全部清除。请卸载本应用或将平板恢复出厂设置，并告知管理员。",
  "app.store_unavailable": "本机数据暂时不可用，请重启应用后重试。",
  "app.bad_signature": "签名图片无效，请清除后重新签名。",
  "app.bad_stored_actor": "本机保存的设备注册信息已损坏，请联系管理员重新注册本设备。",
  "app.server_missing": "缺少服务器地址，请扫描注册二维码，或填写服务器地址后重新注册。",
  "app.bad_server_address": "服务器地址格式不正确，应以 http:// 或 https:// 开头，请核对后重新输入。",
  "app.bad_position": "定位数据无效，本次位置未记录，可继续检查。",
  "ipc.failed": "无法连接到应用后台。",

  // The tablet's database.
  "store.open": "无法打开本机数据库，请检查存储空间后重启应用。",
  "store.key": "无法读取或保存本机数据的加密密钥，请检查存储空间和系统钥匙串后重启应用。",
  "store.wrong_key": "本机数据库无法用本设备的密钥打开（数据来自其他设备，或密钥已被清除）。请联系管理员重新注册本设备。",
  "store.sqlite": "本机数据库出错，请重启应用；如仍出错请联系管理员。",
  "store.migration": "本机数据库升级失败，请联系管理员。",
  "store.not_found": "本机没有该任务，请先同步。",
  "store.exists": "该任务已在本机，请从任务列表中打开。",
  "store.damaged": "本机保存的任务已损坏，请同步后重试；如仍出错请联系管理员。",
  "store.not_set_aside": "服务器拒绝的修改无法从本机移出，请联系管理员。",

  // Operations on a task.
  "task.malformed": "任务数据已损坏，无法使用，请同步后重试；如仍出错请联系管理员。",
  "task.create_not_allowed": "只有监管人员或管理员可以创建检查任务。",
  "task.acts_for_another": "本设备已注册给其他执法人员，不能以您的名义记录，请联系管理员。",
  "task.not_an_inspector": "您没有权限进行此操作（只有本任务的执法人员可以修改记录）。",
  "task.not_a_decision": "该操作不是审核决定，无法记录，请更新应用后重试。",
  "task.frozen": "任务已提交或已办结，记录已锁定，不能再修改。",
  "task.submit_blocked": "检查记录还有未完成的事项，暂不能提交，请先逐项处理。",
  "task.too_few_inspectors": "本任务的执法人员人数不足，请联系监管人员调整任务。",
  "task.empty_checklist": "本任务的检查清单为空，请联系监管人员补充检查项。",
  "task.bad_window": "本任务的检查时限有误（截止日期早于开始日期），请联系监管人员。",
  "task.unknown_item": "找不到该检查项，请同步后重试。",
  "task.unknown_evidence": "找不到该证据，请同步后重试。",
  "task.duplicate_evidence": "这张照片已经添加过了。",
  "task.bad_hash": "证据文件的标识无效，请同步后重试；如仍出错请联系管理员。",
  "task.reason_required": "请填写原因。",
  "task.signer_required": "请填写签名人姓名。",
  "task.finding_description": "请填写问题描述。",
  "task.rectification_incomplete": "责令整改须同时填写整改要求和整改期限。",
  "task.transfer_incomplete": "移送线索须填写接收部门和线索摘要。",
  "task.no_conflict": "该冲突已被处理（可能是同组其他人员刚刚处理的）。",
  "task.not_scalar": "处理冲突时只能保留一个值，请重新选择。",
  "task.not_a_conflicting_value": "所选的值不在冲突的取值之中，请重新选择。",
  "task.value_does_not_fit": "该值不适用于此项，请重新填写或选择。",
  "task.demo_data": "演示数据无法使用，请重新安装应用或联系管理员。",
  "task.record_notes": "笔录填写有误：每项最多 2000 字，记录人须是本任务的执法人员，结束时间不能早于开始时间。请修改后再保存。",

  // Status changes.
  "status.role_not_allowed": "您的角色不能进行这一步操作。",
  "status.not_on_task": "您不在该任务的执法人员名单中，不能进行这一步操作。",
  "status.wrong_status": "任务当前的状态不允许这一步操作，请同步后查看任务状态。",
  "status.comment_required": "这一步须填写意见或原因。",
  "status.transition": "这一步在任务当前状态下不适用。",
  "status.submit_problems": "服务器上的记录尚不能提交，请先处理提交检查中列出的问题。",

  // Edits the server's write rules refused.
  "policy.not_on_task": "您不在该任务的执法人员名单中，不能修改它。",
  "policy.forbidden_field": "这部分内容由监管人员确定，不能在平板上修改。",
  "policy.append_only": "已有的记录不能修改或删除。",
  "policy.not_yours": "只能以自己的名义记录，只能修改自己拍摄的证据。",
  "policy.bad_value": "填写的值不符合格式。",
  "policy.too_long": "填写的文字过长，请删减后重新填写。",
  "policy.frozen": "任务已提交或已审核，不能再修改；如需修改请等待退回。",
  "policy.event_not_allowed": "您的角色不能记录这一步。",

  // Photos and evidence files.
  "photo.empty": "照片文件是空的，请重新拍摄。",
  "photo.unsupported": "不支持该图片格式，请使用 JPEG、PNG 或 WebP 照片（可直接用相机拍摄）。",
  "photo.corrupt": "照片已损坏或不完整，请重新拍摄或重新复制文件。",
  "photo.too_large": "照片分辨率过高，请调低相机分辨率后重新拍摄。",
  "photo.derive_failed": "照片处理失败，请重试；如仍失败请联系管理员。",
  "blob.bad_id": "证据文件的标识无效，请同步后重试；如仍出错请联系管理员。",
  "blob.not_found": "本机还没有该证据文件，请同步后再查看。",
  "blob.corrupt": "本机保存的证据文件已损坏，请同步后重试；如仍出错请联系管理员。",
  "blob.io": "无法读写证据文件，请检查存储空间后重试；如仍出错请联系管理员。",
  "blob.tus_version": BAD_UPLOAD,
  "blob.bad_header": BAD_UPLOAD,
  "blob.bad_content_type": BAD_UPLOAD,
  "blob.too_large": "证据文件超过了服务器允许的大小，无法上传，请联系管理员。",
  "blob.chunk_too_large": BAD_UPLOAD,
  "blob.beyond_length": BAD_UPLOAD,
  "blob.bad_body": "证据文件上传中断，稍后将自动继续。",
  "blob.upload_not_found": "服务器上找不到这次上传，请稍后重新同步；如仍出错请联系管理员。",
  "blob.offset_mismatch": "上传进度与服务器不一致，请重新同步。",
  "blob.hash_mismatch": "证据文件在上传中损坏，服务器未接收，请重新同步。",
  "blob.quota": "本设备的上传量已达上限，请稍后再同步；如急需上传请联系管理员。",
  "upload.network": "无法连接服务器，证据文件上传中断，网络恢复后将自动继续。",
  "upload.unauthorized": "服务器不接受本设备上传的文件，请联系管理员重新注册本设备。",
  "upload.too_large": "证据文件超过了服务器允许的大小，无法上传，请联系管理员。",
  "upload.hash_mismatch": "证据文件在上传中损坏，服务器未接收，请重新同步。",
  "upload.rejected": "服务器拒绝接收证据文件，请联系管理员。",
  "upload.protocol": "无法识别服务器对上传的答复，请核对服务器地址或更新应用。",

  // QR codes.
  "qr.too_long": "链接过长，无法生成二维码，请联系管理员改用较短的服务器地址。",
  "qr.render_failed": "无法生成二维码，请重试；如仍失败请联系管理员。",
  "qr.not_found": "图片中没有可识别的二维码，请换一张更清晰的图片，或直接输入注册码。",
  "claim.tampered": "签名无效：核验码内容已被篡改，请勿相信该检查码。",
  "claim.expired": "核验码已过期：检查期限已过。",
  "claim.not_yet_valid": "核验码尚未生效：检查期限还未开始。",
  "claim.malformed": "不是有效的核验码，请重新扫描。",
  "claim.unknown_key": "核验码不是本县服务器签发的，请勿相信。",
  "verify.unknown": "没有这个核验码，请核对后重试。",
  "verify.revoked": "该核验码已被撤销。",
  "verify.expired": "该核验码已过期。",
  "verify.rate_limited": "查询过于频繁，请稍后再试。",
  "feedback.duplicate": "该次检查已提交过评价，每次检查只能评价一次。",
  "feedback.closed": "该次检查现在不能评价（尚未开始，或核验码已失效）。",
  "feedback.bad_input": "评价内容有误，请检查评分和意见长度。",
  "lead.bad_key": "渠道密钥缺失、无效或已吊销，请向县级管理员申请密钥。",
  "lead.not_found": "本渠道没有这条线索，请核对线索编号。",
  "lead.bad_input": "线索内容有误，请按提示修改对应字段。",
  "lead.rate_limited": "该密钥或该地址请求过于频繁，请等待一分钟后再试。",

  // Unified social credit codes.
  "uscc.length": "统一社会信用代码应为 18 位，请核对后重新输入。",
  "uscc.character": "统一社会信用代码中有不允许使用的字符，请核对后重新输入。",
  "uscc.division": "统一社会信用代码第 3–8 位应为行政区划代码，请核对后重新输入。",
  "uscc.check_digit": "统一社会信用代码的校验位不符，可能有抄错，请核对后重新输入。",

  // Enrollment, sign-in and sync.
  "enroll.bad_text": "这不是 Fieldloop 注册码，请核对后重新输入或重新扫描。",
  "enroll.bad_code": "注册码错误、已被使用或已过期，请向管理员索取新的注册码。",
  "console.no_session": "请先登录。",
  "console.session_expired": "登录已过期，请重新登录。",
  "console.csrf": "页面已过期，请刷新后重试。",
  "console.bad_login": "用户名或密码不正确。",
  "console.locked": "登录失败次数过多，账户已锁定 15 分钟，请稍后再试。",
  "console.bad_query": "列表筛选条件有服务器无法识别的值，请重置筛选。",
  "console.not_found": "该任务或文件不属于您所在队伍的记录，可能已移交其他队伍。",
  "console.forbidden": "您不负责该队伍，请联系管理员为您的账户添加。",
  "console.state": "计划已被他人改变，或当前状态不允许此操作。请刷新后再看。",
  "rectify.state": "该整改已有进行中的复查任务，或已复查完毕，不能再发起复查。请刷新后再看。",
  "console.bad_input": "无法按所填内容创建任务，请检查监管对象、检查事项、队伍、执法人员和日期。",
  "console.import_invalid": "文件中有问题（已按行列出），未导入任何数据，请改正后重新导入。",
  "enroll.rate_limited": "尝试次数过多，请等待一分钟后再试。",
  "auth.missing": "服务器没有收到本设备的身份凭证，请联系管理员重新注册本设备。",
  "auth.malformed": "服务器无法识别本设备的身份凭证，请更新应用；如仍出错请联系管理员重新注册本设备。",
  "auth.bad_token": "服务器不认识本设备，请联系管理员重新注册。",
  "auth.revoked": "本设备已被管理员停用，请联系管理员重新注册。",
  "auth.expired": "本设备的令牌已过期（长时间未同步），请联系管理员重新注册。",
  "auth.inactive": "本设备的执法人员已停用，请联系管理员。",
  "auth.wrong_role": "此账号不能在平板上同步，请使用执法人员的设备注册码。",
  "sync.network": "无法连接服务器，请检查网络。",
  "sync.key_mismatch": "服务器出示的密钥与注册时绑定的不符，已拒绝连接：当前网络可能被劫持。请换用可信网络；如服务器确已更换密钥，请联系管理员重新注册。",
  "sync.plain_http": "本设备只与注册时绑定密钥的服务器加密通信，不会连接未加密（http）的地址。请联系管理员。",
  "sync.tls": "无法与服务器建立加密连接。请检查网络和服务器地址，或联系管理员。",
  "sync.http": "服务器返回了错误，请稍后重试；如仍出错请核对服务器地址或联系管理员。",
  "sync.not_enrolled": "本设备尚未注册，请先扫描注册二维码。",
  "sync.bad_answer": "服务器的答复无法读取，请更新应用。",
  "sync.blob_folder": "无法打开本机的证据文件夹，请检查存储空间后重启应用。",
  "sync.too_many_rounds": "本次需要同步的内容较多，稍后将自动继续。",
  "sync.unrepaired": "有任务多次从服务器重新获取后仍无法使用，稍后将再试；如持续出现请联系管理员。",
  "sync.content_type": BAD_REQUEST,
  "sync.bad_message": BAD_REQUEST,
  "sync.version": "应用版本过旧，无法与服务器同步，请更新应用。",
  "sync.bad_hash": BAD_REQUEST,
  "sync.bad_changes": BAD_REQUEST,
  "sync.too_many_docs": TOO_MUCH,
  "sync.too_many_changes": TOO_MUCH,
  "sync.too_many_ops": TOO_MUCH,
  "sync.doc_too_large": "该任务的记录已超过服务器允许的大小，无法再保存新的修改，请联系管理员。",
  "sync.duplicate_doc": BAD_REQUEST,
  "sync.forbidden": "该任务不属于本设备所在的执法队伍，服务器拒绝同步，请联系管理员。",
  "sync.actor_mismatch": "修改不是由本设备作出的，服务器已拒绝。",
  "sync.invalid_task": "修改会使任务格式无效，服务器已拒绝。",
  "review.not_found": "在您所在的队伍中找不到该任务，请刷新后重试。",

  // The server's answers to any request.
  "http.not_found": "服务器不支持本应用的请求，请核对服务器地址或更新应用。",
  "http.method_not_allowed": BAD_REQUEST,
  "http.content_type": BAD_REQUEST,
  "http.bad_json": BAD_REQUEST,
  "http.too_large": "发送的内容超过了服务器的限制，请联系管理员。",
  "http.bad_request": BAD_REQUEST,
  "http.timeout": "服务器响应超时，请检查网络后重试。",
  "server.not_found": "服务器上找不到本设备或其执法人员，请联系管理员重新注册本设备。",
  "server.busy": "服务器繁忙，请稍后重试。",
  "server.internal": "服务器内部出错，请稍后重试；如仍出错请联系管理员。",
  "server.unknown": "服务器返回了本应用无法识别的错误，请更新应用后重试。",

  // Printed records (笔录, 责令改正通知书).
  "print.fonts_missing": "缺少中文字体，无法打印：请管理员安装 fonts-noto-cjk 字体包。",
  "print.missing_glyph": "记录中有字体无法显示的字符，无法打印：请按提示改用常用字写法后重试。",
  "print.too_large": "记录内容过长，超出打印上限，请精简后重试。",
  "print.failed": "排版出错，无法打印，请联系管理员。",
};
