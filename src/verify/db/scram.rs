//! SCRAM (RFC 5802, RFC 7677) client side, without channel binding.

use std::num::NonZeroU32;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::{bad, same, xor, Outcome, Stop};

/// The largest iteration count accepted (PBKDF2 cost is the server's choice).
const MAX_ITERATIONS: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hash {
    Sha1,
    Sha256,
}

impl Hash {
    pub(super) fn name(self) -> &'static str {
        match self {
            Hash::Sha1 => "SCRAM-SHA-1",
            Hash::Sha256 => "SCRAM-SHA-256",
        }
    }
}

pub(super) fn hmac(h: Hash, key: &[u8], msg: &[u8]) -> Vec<u8> {
    let alg = match h {
        Hash::Sha1 => ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        Hash::Sha256 => ring::hmac::HMAC_SHA256,
    };
    ring::hmac::sign(&ring::hmac::Key::new(alg, key), msg)
        .as_ref()
        .to_vec()
}

pub(super) fn digest(h: Hash, data: &[u8]) -> Vec<u8> {
    match h {
        Hash::Sha1 => super::sha1(data),
        Hash::Sha256 => super::sha256(data),
    }
}

pub(super) fn salted(h: Hash, password: &[u8], salt: &[u8], iterations: NonZeroU32) -> Vec<u8> {
    let (alg, len) = match h {
        Hash::Sha1 => (ring::pbkdf2::PBKDF2_HMAC_SHA1, 20),
        Hash::Sha256 => (ring::pbkdf2::PBKDF2_HMAC_SHA256, 32),
    };
    let mut out = vec![0; len];
    ring::pbkdf2::derive(alg, iterations, salt, password, &mut out);
    out
}

pub(super) struct Client {
    hash: Hash,
    nonce: String,
    first_bare: String,
    password: Vec<u8>,
    min_iterations: u32,
    server_signature: Vec<u8>,
}

impl Client {
    /// A client for `user` (escaped here) with a fresh random nonce.
    pub(super) fn new(
        hash: Hash,
        user: &str,
        password: &[u8],
        min_iterations: u32,
    ) -> Result<Client, Stop> {
        let mut raw = [0u8; 18];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw)
            .map_err(|_| Stop(Outcome::error("no random numbers for a SCRAM nonce")))?;
        Ok(Client::with_nonce(
            hash,
            user,
            password,
            min_iterations,
            B64.encode(raw),
        ))
    }

    pub(super) fn with_nonce(
        hash: Hash,
        user: &str,
        password: &[u8],
        min_iterations: u32,
        nonce: String,
    ) -> Client {
        let name = user.replace('=', "=3D").replace(',', "=2C");
        Client {
            hash,
            first_bare: format!("n={name},r={nonce}"),
            nonce,
            password: password.to_vec(),
            min_iterations,
            server_signature: Vec::new(),
        }
    }

    /// The client-first message.
    pub(super) fn first(&self) -> String {
        format!("n,,{}", self.first_bare)
    }

    /// The client-final message for the server-first one.
    pub(super) fn respond(&mut self, server_first: &[u8]) -> Result<String, Stop> {
        let text =
            std::str::from_utf8(server_first).map_err(|_| bad("SCRAM server-first message"))?;
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for attr in text.split(',') {
            if let Some(v) = attr.strip_prefix("r=") {
                nonce = Some(v);
            } else if let Some(v) = attr.strip_prefix("s=") {
                salt = Some(v);
            } else if let Some(v) = attr.strip_prefix("i=") {
                iterations = Some(v);
            } else if attr.starts_with("m=") {
                return Err(bad("SCRAM mandatory extension"));
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(bad("SCRAM server-first message"));
        };
        let printable = nonce.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if !printable || nonce.len() <= self.nonce.len() || !nonce.starts_with(&self.nonce) {
            return Err(Stop(Outcome::error(
                "the server's SCRAM nonce does not extend ours",
            )));
        }
        let salt = B64.decode(salt).map_err(|_| bad("SCRAM salt"))?;
        let iterations = iterations
            .parse::<u32>()
            .ok()
            .filter(|i| (self.min_iterations..=MAX_ITERATIONS).contains(i))
            .and_then(NonZeroU32::new)
            .ok_or_else(|| Stop(Outcome::error("SCRAM iteration count out of range")))?;
        let h = self.hash;
        let salted = salted(h, &self.password, &salt, iterations);
        let client_key = hmac(h, &salted, b"Client Key");
        let stored_key = digest(h, &client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{text},{without_proof}", self.first_bare);
        let signature = hmac(h, &stored_key, auth_message.as_bytes());
        let proof = xor(&client_key, &signature);
        let server_key = hmac(h, &salted, b"Server Key");
        self.server_signature = hmac(h, &server_key, auth_message.as_bytes());
        Ok(format!("{without_proof},p={}", B64.encode(proof)))
    }

    /// Checks the server-final message: the server proves that it knows the password too.
    pub(super) fn verify(&self, server_final: &[u8]) -> Result<(), Stop> {
        let text =
            std::str::from_utf8(server_final).map_err(|_| bad("SCRAM server-final message"))?;
        let attr = text.split(',').next().unwrap_or_default();
        if let Some(e) = attr.strip_prefix("e=") {
            return Err(Stop(match e {
                "invalid-proof" | "unknown-user" | "invalid-username-encoding" => {
                    Outcome::invalid("password rejected (SCRAM)")
                }
                _ => Outcome::error("the server ended SCRAM with an error"),
            }));
        }
        let v = attr
            .strip_prefix("v=")
            .and_then(|v| B64.decode(v).ok())
            .ok_or_else(|| bad("SCRAM server-final message"))?;
        if self.server_signature.is_empty() || !same(&v, &self.server_signature) {
            return Err(Stop(Outcome::error(
                "the server's SCRAM signature is wrong (not the real server?)",
            )));
        }
        Ok(())
    }
}
