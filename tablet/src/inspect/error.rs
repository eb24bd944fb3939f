//! Why an inspector's action did not happen.

use super::*;

/// Why an inspector's action did not happen. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Photo(#[from] PhotoError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Qr(#[from] QrError),
    /// The check of the server's receipt log ([`crate::audit::check`]).
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    #[error("本设备尚未注册，请先扫描注册二维码 (this tablet is not enrolled yet)")]
    NotEnrolled,
    #[error("签名图片无效：{0}（请重新签名）(the signature image is not a valid PNG)")]
    BadSignature(String),
    #[error("本机保存的设备标识无效：{0}（请重新注册）(the stored device actor is invalid)")]
    BadStoredActor(String),
    #[error("请填写服务器地址，例如 http://192.168.1.10:7878 (enter the server address)")]
    ServerMissing,
    #[error(
        "服务器地址应以 http:// 或 https:// 开头：{0} (the server address must start with http:// or https://)"
    )]
    BadServerAddress(String),
    #[error("位置数据无效 (invalid position {lat}, {lon})")]
    BadPosition { lat: f64, lon: f64 },
    #[error(transparent)]
    Print(fieldloop_print::PrintError),
    #[error("无法保存打印的笔录：{0}（请检查存储空间）(the printed record could not be saved)")]
    PrintFile(String),
    #[error(
        "本机数据未能全部清除：{0}（请卸载应用或恢复出厂设置）(the tablet's data could not all be erased: uninstall the app or reset the tablet)"
    )]
    WipeFailed(String),
}

impl From<TaskError> for AppError {
    fn from(e: TaskError) -> Self {
        Self::Store(StoreError::from(e))
    }
}

impl AppError {
    /// A stable machine code; the UI branches on it.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Store(e) => e.code(),
            Self::Photo(e) => e.code(),
            Self::Blob(e) => e.code(),
            Self::Sync(e) => e.code(),
            Self::Qr(e) => e.code(),
            Self::Audit(e) => e.code(),
            Self::NotEnrolled => ErrorCode::SyncNotEnrolled,
            Self::BadSignature(_) => ErrorCode::AppBadSignature,
            Self::BadStoredActor(_) => ErrorCode::AppBadStoredActor,
            Self::ServerMissing => ErrorCode::AppServerMissing,
            Self::BadServerAddress(_) => ErrorCode::AppBadServerAddress,
            Self::BadPosition { .. } => ErrorCode::AppBadPosition,
            Self::WipeFailed(_) => ErrorCode::AppWipeFailed,
            Self::Print(e) => e.code().parse().unwrap_or(ErrorCode::PrintFailed),
            Self::PrintFile(_) => ErrorCode::PrintFailed,
        }
    }
}
