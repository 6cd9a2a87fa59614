//! Authentication failures as types. Reasons are fixed, short strings, so no key, token or
//! library message can reach a client; `http::rejection` maps each to its response.

pub use super::dpop::ProofError;

/// What is wrong with a presented token: always the client's fault, always 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Longer than the verifier's `max_token_bytes`: refused before any parsing.
    TooLarge,
    /// Not three base64url segments of JSON, or a payload that is no claims object.
    Malformed,
    /// An `alg` outside the allowlist (`none` and HMAC never are in it).
    AlgorithmNotAllowed,
    /// A `crit` header: no extension is understood.
    CriticalHeader,
    /// A key or key URL in the header (`jwk`, `jku`, `x5u`, `x5c`): keys come from the JWKS only.
    EmbeddedKey,
    /// A `typ` that is not `JWT` or `at+jwt`, or not the issuer's required one.
    UnsupportedType,
    /// No key of the issuer's set answers to the token's key name, even after a refetch.
    UnknownKey,
    /// No key name, and more than one key fits the algorithm.
    MissingKeyId,
    /// The named key does not fit the token's `alg` (its type, curve or declared `alg`).
    AlgorithmMismatch,
    /// The signature does not verify with the named key.
    InvalidSignature,
    /// `exp` is past, beyond the leeway.
    Expired,
    /// `nbf` is ahead, beyond the leeway.
    NotYetValid,
    /// `iat` is ahead, beyond the leeway.
    IssuedInFuture,
    /// `iss` names no trusted issuer, or not this key's.
    IssuerMismatch,
    /// `aud` (or the issuer's audience claim) names none of the accepted audiences.
    AudienceMismatch,
    /// A claim the rules require is absent.
    MissingClaim,
    /// A claim of a type or shape that cannot be read: refused rather than read as absent.
    MalformedClaims,
    /// `exp − iat` above the issuer's `max_token_lifetime_seconds`.
    LifetimeTooLong,
    /// A claim without the value the issuer's `required_claims` demand; the reason names the
    /// claim, never its value.
    RequiredClaim(&'static str),
    /// A valid token in a header its issuer is not configured to send it in.
    WrongHeader,
    /// A DPoP-bound token (`cnf.jkt`) sent with the `Bearer` scheme (RFC 9449 §7.1).
    DpopBoundAsBearer,
    /// A token without `cnf.jkt` sent with the `DPoP` scheme, or where DPoP is required.
    NotDpopBound,
    /// The `DPoP` scheme, for an issuer whose DPoP is off.
    DpopNotAccepted,
    /// A DPoP proof by another key than the one the token is bound to.
    DpopKeyMismatch,
    /// A certificate-bound token (`cnf.x5t#S256`) without a client certificate.
    CertificateMissing,
    /// A certificate-bound token with another client certificate than its own.
    CertificateMismatch,
    /// A token without `cnf.x5t#S256` where the issuer's tokens must be certificate-bound.
    NotCertificateBound,
    /// A multi-tenant issuer's token whose `tid` names a tenant the service does not take.
    TenantNotAllowed,
    /// A multi-tenant issuer's token whose `iss` names another tenant than its `tid`.
    TenantMismatch,
    /// A `cnf` other than one string `jkt` (RFC 8705 `x5t#S256`, RFC 7800 `jwk`, …): a binding
    /// this service cannot enforce, so the token is not taken as unbound.
    UnsupportedConfirmation,
}

impl TokenError {
    /// The `error_description` sent to the client.
    pub fn reason(self) -> &'static str {
        match self {
            Self::TooLarge => "token too large",
            Self::Malformed => "malformed token",
            Self::AlgorithmNotAllowed => "algorithm not allowed",
            Self::CriticalHeader => "unsupported critical header",
            Self::EmbeddedKey => "embedded keys are not accepted",
            Self::UnsupportedType => "unsupported token type",
            Self::UnknownKey => "unknown signing key",
            Self::MissingKeyId => "missing key id",
            Self::AlgorithmMismatch => "algorithm does not match key",
            Self::InvalidSignature => "invalid signature",
            Self::Expired => "token expired",
            Self::NotYetValid => "token not yet valid",
            Self::IssuedInFuture => "token issued in the future",
            Self::IssuerMismatch => "issuer mismatch",
            Self::AudienceMismatch => "audience mismatch",
            Self::MissingClaim => "missing required claim",
            Self::MalformedClaims => "malformed claims",
            Self::LifetimeTooLong => "token lifetime too long",
            Self::RequiredClaim(reason) => reason,
            Self::WrongHeader => "token not accepted in this header",
            Self::DpopBoundAsBearer => "DPoP-bound token presented as a bearer token",
            Self::NotDpopBound => "token is not DPoP-bound",
            Self::DpopNotAccepted => "DPoP is not accepted for this issuer",
            Self::DpopKeyMismatch => "token is bound to another key",
            Self::UnsupportedConfirmation => "unsupported confirmation method",
            Self::CertificateMissing => "token is bound to a client certificate",
            Self::CertificateMismatch => "token is bound to another client certificate",
            Self::NotCertificateBound => "token is not certificate-bound",
            Self::TenantNotAllowed => "tenant not allowed",
            Self::TenantMismatch => "issuer does not match the token's tenant",
        }
    }
}

/// Every way a request to a protected route can fail authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// No bearer credentials at all: challenge without an error code (RFC 6750 §3.1).
    MissingCredentials,
    /// The Authorization header is present but not a well-formed bearer credential.
    InvalidRequest(&'static str),
    /// A bearer token was presented and is not acceptable.
    InvalidToken(TokenError),
    /// A valid token without the scope this route requires.
    InsufficientScope(&'static str),
    /// A valid token without the role this route requires.
    MissingRole(&'static str),
    /// A valid token whose authentication is weaker or older than the route demands (RFC 9470).
    InsufficientUserAuthentication,
    /// Our side: no signing keys could be loaded from the issuer yet.
    KeysUnavailable,
    /// A token sent with the `DPoP` scheme whose proof is missing or invalid (RFC 9449 §7.1).
    InvalidDpopProof(ProofError),
    /// Our side: the replica holds as many used DPoP proofs as it may, so a new one cannot be
    /// remembered and is not accepted; the earliest held proof's window closes in
    /// `retry_after` seconds.
    ReplayStoreFull {
        /// Seconds until the earliest remembered proof's window closes.
        retry_after: u64,
    },
    /// Our side: the replay store shared by the replicas did not answer in time, so a DPoP
    /// proof cannot be checked and is not accepted.
    ReplayStoreUnavailable,
}

impl AuthError {
    /// A short, safe description for logs and bodies.
    pub fn reason(self) -> &'static str {
        match self {
            Self::MissingCredentials => "missing bearer token",
            Self::InvalidRequest(reason) => reason,
            Self::InvalidToken(error) => error.reason(),
            Self::InsufficientScope(_) => "insufficient scope",
            Self::MissingRole(_) => "insufficient role",
            Self::InsufficientUserAuthentication => {
                "a stronger or more recent authentication is required"
            }
            Self::KeysUnavailable => "signing keys are not available",
            Self::InvalidDpopProof(error) => error.reason(),
            Self::ReplayStoreFull { .. } => "DPoP replay store full",
            Self::ReplayStoreUnavailable => "DPoP replay store unavailable",
        }
    }
}

impl From<TokenError> for AuthError {
    fn from(error: TokenError) -> Self {
        Self::InvalidToken(error)
    }
}
