//! Typed exit codes, one enum per subcommand family, documented in `--help`.

/// Exit codes of `sealtrail policy eval` and `sealtrail policy lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyExit {
    /// `eval`: the request is allowed. `lint`: no findings.
    Allow = 0,
    /// `eval`: the request is denied (explicitly or implicitly). `lint`: warnings only.
    Deny = 1,
    /// A usage error, an unreadable file or a policy that does not parse.
    Error = 2,
}

impl PolicyExit {
    /// The process exit code.
    #[must_use]
    pub fn code(self) -> u8 {
        self as u8
    }
}
