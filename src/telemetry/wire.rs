//! mod_wsgi 6.1.1's telemetry datagram (`wsgi_telemetry.h`), as mod-wsgi-telemetry 1.1.0
//! decodes it: a 24-byte little-endian header, then TLV records. Pure bytes; what goes in
//! each field is decided by the caller (`sample`, `reporter`).

/// Header magic and version byte (`WSGI_METRICS_VERSION`).
const MAGIC: &[u8; 4] = b"WSGI";
const VERSION: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Request = 2,
    SlowRequest = 4,
    ProcessStarted = 5,
    ProcessStopping = 6,
    ProcessStopped = 7,
    GcEvent = 9,
}

const U64: u8 = 1;
const F64: u8 = 2;
const BYTES: u8 = 4;
const I32_ARRAY: u8 = 5;
const F64_ARRAY: u8 = 6;

/// Field ids (`WSGI_METRICS_F_*`); the receiver names each by the lower-cased suffix.
pub mod field {
    pub const MOD_WSGI_VERSION: u16 = 1;
    pub const PYTHON_VERSION: u16 = 2;
    pub const APACHE_VERSION: u16 = 3;
    pub const MPM_NAME: u16 = 4;
    pub const HOSTNAME: u16 = 5;
    pub const PROCESS_GROUP: u16 = 6;
    pub const PROCESS_PARENT_PID: u16 = 7;
    pub const SAMPLE_PERIOD: u16 = 10;
    pub const TELEMETRY_INTERVAL: u16 = 11;
    pub const SLOW_REQUESTS_THRESHOLD: u16 = 12;
    pub const SWITCH_INTERVAL: u16 = 13;
    pub const REQUEST_COUNT: u16 = 20;
    pub const REQUEST_THROUGHPUT: u16 = 21;
    pub const CAPACITY_UTILIZATION: u16 = 22;
    pub const CPU_USER_UTILIZATION: u16 = 30;
    pub const CPU_SYSTEM_UTILIZATION: u16 = 31;
    pub const CPU_UTILIZATION: u16 = 32;
    pub const MEMORY_RSS: u16 = 40;
    pub const MEMORY_MAX_RSS: u16 = 41;
    pub const REQUEST_THREADS_MAXIMUM: u16 = 50;
    pub const REQUEST_THREADS_STARTED: u16 = 51;
    pub const REQUEST_THREADS_ACTIVE: u16 = 52;
    /// Mean of phase p is `PHASE_MEAN + p`, its min `PHASE_MIN + p`, max `PHASE_MAX + p`,
    /// histogram `PHASE_BUCKETS + p` (phases in `super::Phase` order).
    pub const PHASE_MEAN: u16 = 60;
    pub const PHASE_MIN: u16 = 70;
    pub const PHASE_MAX: u16 = 80;
    pub const PHASE_BUCKETS: u16 = 90;
    pub const INPUT_BYTES_TOTAL: u16 = 100;
    pub const INPUT_READS_TOTAL: u16 = 101;
    pub const OUTPUT_BYTES_TOTAL: u16 = 102;
    pub const OUTPUT_WRITES_TOTAL: u16 = 103;
    pub const REQUEST_THREADS_COMPLETED: u16 = 110;
    pub const REQUEST_THREADS_BUSY_TIME: u16 = 111;
    pub const REQUEST_THREADS_CPU_TIME: u16 = 112;
    pub const REQUEST_THREADS_CURRENT_ELAPSED: u16 = 113;
    pub const REQUEST_THREADS_MAX_DURATION: u16 = 114;
    /// status_1xx_total .. status_5xx_total are 120..124.
    pub const STATUS_1XX_TOTAL: u16 = 120;
    pub const SHUTDOWN_REASON: u16 = 130;
    pub const PROCESS_UPTIME: u16 = 131;
    pub const LIFETIME_REQUEST_COUNT: u16 = 132;
    pub const ACTIVE_REQUESTS_AT_DECISION: u16 = 133;
    pub const ACTIVE_REQUESTS_AT_EXIT: u16 = 134;
    pub const GRACEFUL_DRAIN: u16 = 135;
    pub const SLOW_RECORD_STATE: u16 = 200;
    pub const SLOW_START_STAMP: u16 = 201;
    pub const SLOW_DURATION: u16 = 202;
    pub const SLOW_THREAD_ID: u16 = 203;
    pub const SLOW_LOG_ID: u16 = 204;
    pub const SLOW_SERVER_PID: u16 = 205;
    /// slow_method, scheme, hostname, script_name, path_info, protocol, peer_ip, user_agent.
    pub const SLOW_METHOD: u16 = 210;
    /// slow_server_time, queue, daemon, application.
    pub const SLOW_SERVER_TIME: u16 = 220;
    pub const SLOW_GIL_WAIT_TIME: u16 = 224;
    pub const SLOW_GIL_WAIT_COUNT: u16 = 225;
    /// slow_input_bytes, input_reads, output_bytes, output_writes.
    pub const SLOW_INPUT_BYTES: u16 = 230;
    pub const SLOW_INPUT_READ_TIME: u16 = 234;
    pub const SLOW_OUTPUT_WRITE_TIME: u16 = 235;
    pub const SLOW_STATUS: u16 = 240;
    pub const SLOW_CPU_USER_TIME: u16 = 250;
    pub const SLOW_CPU_SYSTEM_TIME: u16 = 251;
    pub const SLOW_ACTIVE_AT_START: u16 = 260;
    pub const SLOW_ACTIVE_AT_COMPLETION: u16 = 261;
    pub const GC_EVENT_START_STAMP: u16 = 320;
    pub const GC_EVENT_DURATION: u16 = 321;
    pub const GC_EVENT_GENERATION: u16 = 322;
    pub const GC_EVENT_COLLECTED: u16 = 323;
    pub const GC_EVENT_UNCOLLECTABLE: u16 = 324;
}

/// One datagram being written. Records are appended in the order mod_wsgi writes them, so
/// ours can be compared with its byte for byte.
pub struct Datagram {
    buf: Vec<u8>,
}

impl Datagram {
    pub fn new(kind: Kind, pid: u32, seq: u32, stamp: f64) -> Datagram {
        let mut buf = Vec::with_capacity(2048);
        buf.extend_from_slice(MAGIC);
        buf.push(VERSION);
        buf.push(kind as u8);
        buf.extend_from_slice(&0u16.to_le_bytes());
        buf.extend_from_slice(&pid.to_le_bytes());
        buf.extend_from_slice(&seq.to_le_bytes());
        buf.extend_from_slice(&stamp.to_le_bytes());
        Datagram { buf }
    }

    fn tag(&mut self, id: u16, ty: u8) {
        self.buf.extend_from_slice(&id.to_le_bytes());
        self.buf.push(ty);
    }

    pub fn u64(&mut self, id: u16, v: u64) {
        self.tag(id, U64);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn f64(&mut self, id: u16, v: f64) {
        self.tag(id, F64);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// mod_wsgi never sends an empty string: the field is left out. Longer than a u16 length
    /// can say is cut (no field of ours comes near it).
    pub fn bytes(&mut self, id: u16, v: &[u8]) {
        if v.is_empty() {
            return;
        }
        let v = &v[..v.len().min(u16::MAX as usize)];
        self.tag(id, BYTES);
        self.buf.extend_from_slice(&(v.len() as u16).to_le_bytes());
        self.buf.extend_from_slice(v);
    }

    pub fn i32s(&mut self, id: u16, v: &[i32]) {
        self.tag(id, I32_ARRAY);
        self.buf.extend_from_slice(&(v.len() as u16).to_le_bytes());
        for x in v {
            self.buf.extend_from_slice(&x.to_le_bytes());
        }
    }

    pub fn f64s(&mut self, id: u16, v: &[f64]) {
        self.tag(id, F64_ARRAY);
        self.buf.extend_from_slice(&(v.len() as u16).to_le_bytes());
        for x in v {
            self.buf.extend_from_slice(&x.to_le_bytes());
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let d = Datagram::new(Kind::ProcessStarted, 4242, 1, 1700000000.0).into_bytes();
        assert_eq!(hex(&d), "5753474901050000921000000100000000000040fc54d941");
    }

    #[test]
    fn records() {
        let mut d = Datagram::new(Kind::Request, 0, 0, 0.0);
        d.u64(7, 4200);
        d.f64(13, 0.005);
        d.bytes(5, b"web1");
        d.bytes(6, b"");
        d.i32s(110, &[2, -1]);
        d.f64s(111, &[]);
        let d = d.into_bytes();
        assert_eq!(
            hex(&d[24..]),
            "0700016810000000000000".to_owned() + "0d00027b14ae47e17a743f" + "05000404007765623" + "1" + "6e0005020002000000ffffffff" + "6f00060000"
        );
    }

    pub fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
