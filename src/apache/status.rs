//! What a hook answers Apache: OK, DECLINED or an HTTP status.

use super::ffi;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(i32);

impl Status {
    pub const OK: Status = Status(ffi::OK);
    pub const DECLINED: Status = Status(ffi::DECLINED);
    pub const FORBIDDEN: Status = Status(ffi::HTTP_FORBIDDEN);
    pub const NOT_FOUND: Status = Status(ffi::HTTP_NOT_FOUND);
    pub const METHOD_NOT_ALLOWED: Status = Status(ffi::HTTP_METHOD_NOT_ALLOWED);
    pub const LENGTH_REQUIRED: Status = Status(ffi::HTTP_LENGTH_REQUIRED);
    pub const INTERNAL_SERVER_ERROR: Status = Status(ffi::HTTP_INTERNAL_SERVER_ERROR);
    pub const BAD_GATEWAY: Status = Status(ffi::HTTP_BAD_GATEWAY);
    pub const SERVICE_UNAVAILABLE: Status = Status(ffi::HTTP_SERVICE_UNAVAILABLE);
    pub const GATEWAY_TIME_OUT: Status = Status(ffi::HTTP_GATEWAY_TIME_OUT);

    /// An HTTP status Apache itself chose (from ap_setup_client_block and friends).
    pub fn from_apache(code: i32) -> Status {
        Status(code)
    }

    pub fn raw(self) -> i32 {
        self.0
    }
}
