//! The four SCRAM messages (RFC 5802 section 7), parsed from untrusted
//! bytes and formatted back. Only the subset MongoDB uses is accepted: no
//! channel binding (`n` or `y` flags only), an authzid only if it names the
//! user, no mandatory extensions. Unknown optional attributes are ignored,
//! as the RFC asks.
//!
//! Invariant: `parse(format(m)) == m` for every message the formatter is
//! given (the usernames it escapes, the base64 it writes).

use base64::Engine as _;

use crate::Error;

/// Longest SCRAM message accepted. Real ones are under 300 bytes; this only
/// stops a client from making the server hold or scan large payloads.
pub const MESSAGE_BYTES_MAX: usize = 16 * 1024;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// `client-first-message`: `n,,n=user,r=nonce`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFirst {
    /// `n,,` or `y,,` (with any authzid): the client's channel-binding flag.
    pub gs2_header: String,
    pub username: String,
    pub nonce: String,
}

/// `server-first-message`: `r=nonce,s=salt,i=iterations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFirst {
    pub nonce: String,
    pub salt: Vec<u8>,
    pub iterations: u32,
}

/// `client-final-message`: `c=biws,r=nonce,p=proof`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFinal {
    /// The GS2 header the client sent first, as `c=` carries it (decoded).
    pub channel_binding: Vec<u8>,
    pub nonce: String,
    pub proof: Vec<u8>,
}

/// `server-final-message`: `v=signature` or `e=error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerFinal {
    Verifier(Vec<u8>),
    Error(String),
}

fn text(bytes: &[u8]) -> Result<&str, Error> {
    if bytes.len() > MESSAGE_BYTES_MAX {
        return Err(Error::Malformed("message too long"));
    }
    std::str::from_utf8(bytes).map_err(|_| Error::Malformed("not UTF-8"))
}

/// `a=value` items of an attribute list, in order.
fn attributes(list: &str) -> Result<Vec<(char, &str)>, Error> {
    list.split(',')
        .map(|item| {
            let mut chars = item.chars();
            match (chars.next(), chars.next()) {
                (Some(name), Some('=')) if name.is_ascii_alphabetic() => Ok((name, &item[2..])),
                _ => Err(Error::Malformed("attribute is not a=value")),
            }
        })
        .collect()
}

/// Takes the next attribute, which must be `name`.
fn expect<'a>(
    attrs: &mut std::slice::Iter<'_, (char, &'a str)>,
    name: char,
) -> Result<&'a str, Error> {
    match attrs.next() {
        Some((found, value)) if *found == name => Ok(value),
        _ => Err(Error::Malformed("attribute missing or out of order")),
    }
}

/// Refuses a mandatory extension (`m=`) among the remaining attributes.
fn no_mandatory_extension(attrs: std::slice::Iter<'_, (char, &str)>) -> Result<(), Error> {
    match attrs.clone().any(|(name, _)| *name == 'm') {
        true => Err(Error::Malformed("mandatory extension")),
        false => Ok(()),
    }
}

fn nonce(value: &str) -> Result<String, Error> {
    let printable = value
        .bytes()
        .all(|b| (0x21..=0x7e).contains(&b) && b != b',');
    if value.is_empty() || !printable {
        return Err(Error::Malformed("nonce is not printable"));
    }
    Ok(value.to_owned())
}

fn base64(value: &str) -> Result<Vec<u8>, Error> {
    B64.decode(value)
        .map_err(|_| Error::Malformed("bad base64"))
}

/// Decodes a `saslname`: `=2C` is `,` and `=3D` is `=`; any other `=` is invalid.
pub fn unescape_username(value: &str) -> Result<String, Error> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('=') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 3);
        match code {
            Some("2C") => out.push(','),
            Some("3D") => out.push('='),
            _ => return Err(Error::Malformed("bad username escape")),
        }
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    if out.is_empty() {
        return Err(Error::Malformed("empty username"));
    }
    Ok(out)
}

/// Encodes a username as a `saslname`.
pub fn escape_username(username: &str) -> String {
    username.replace('=', "=3D").replace(',', "=2C")
}

impl ClientFirst {
    pub fn parse(bytes: &[u8]) -> Result<ClientFirst, Error> {
        let message = text(bytes)?;
        let mut parts = message.splitn(3, ',');
        let (Some(flag), Some(authzid), Some(bare)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Malformed("missing GS2 header"));
        };
        match flag {
            "n" | "y" => {}
            flag if flag.starts_with("p=") => return Err(Error::ChannelBinding),
            _ => return Err(Error::Malformed("bad channel-binding flag")),
        }
        let attrs = attributes(bare)?;
        let mut iter = attrs.iter();
        let username = unescape_username(expect(&mut iter, 'n')?)?;
        let nonce = nonce(expect(&mut iter, 'r')?)?;
        no_mandatory_extension(iter)?;
        if !authzid.is_empty() {
            let named = authzid
                .strip_prefix("a=")
                .ok_or(Error::Malformed("bad authzid"))?;
            if unescape_username(named)? != username {
                return Err(Error::Malformed("authzid differs from the user"));
            }
        }
        Ok(ClientFirst {
            gs2_header: format!("{flag},{authzid},"),
            username,
            nonce,
        })
    }

    /// `client-first-message-bare`, which the auth message starts with.
    pub fn bare(&self) -> String {
        format!("n={},r={}", escape_username(&self.username), self.nonce)
    }

    pub fn format(&self) -> String {
        format!("{}{}", self.gs2_header, self.bare())
    }
}

impl ServerFirst {
    pub fn parse(bytes: &[u8]) -> Result<ServerFirst, Error> {
        let attrs = attributes(text(bytes)?)?;
        let mut iter = attrs.iter();
        if attrs.first().is_some_and(|(name, _)| *name == 'm') {
            return Err(Error::Malformed("mandatory extension"));
        }
        let nonce = nonce(expect(&mut iter, 'r')?)?;
        let salt = base64(expect(&mut iter, 's')?)?;
        let count = expect(&mut iter, 'i')?;
        if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Malformed("iteration count is not a number"));
        }
        let iterations = count
            .parse::<u32>()
            .map_err(|_| Error::Malformed("iteration count too large"))?;
        Ok(ServerFirst {
            nonce,
            salt,
            iterations,
        })
    }

    pub fn format(&self) -> String {
        format!(
            "r={},s={},i={}",
            self.nonce,
            B64.encode(&self.salt),
            self.iterations
        )
    }
}

impl ClientFinal {
    pub fn parse(bytes: &[u8]) -> Result<ClientFinal, Error> {
        let attrs = attributes(text(bytes)?)?;
        let mut iter = attrs.iter();
        let channel_binding = base64(expect(&mut iter, 'c')?)?;
        let nonce = nonce(expect(&mut iter, 'r')?)?;
        // Optional extensions may sit between the nonce and the proof,
        // which is always last.
        let Some(('p', proof)) = attrs.last() else {
            return Err(Error::Malformed("proof missing"));
        };
        no_mandatory_extension(iter)?;
        Ok(ClientFinal {
            channel_binding,
            nonce,
            proof: base64(proof)?,
        })
    }

    /// `client-final-message-without-proof`, which ends the auth message.
    pub fn without_proof(&self) -> String {
        format!("c={},r={}", B64.encode(&self.channel_binding), self.nonce)
    }

    pub fn format(&self) -> String {
        format!("{},p={}", self.without_proof(), B64.encode(&self.proof))
    }
}

impl ServerFinal {
    pub fn parse(bytes: &[u8]) -> Result<ServerFinal, Error> {
        let attrs = attributes(text(bytes)?)?;
        match attrs.first() {
            Some(('v', value)) => Ok(ServerFinal::Verifier(base64(value)?)),
            Some(('e', value)) => Ok(ServerFinal::Error((*value).to_owned())),
            _ => Err(Error::Malformed("server final is neither v= nor e=")),
        }
    }

    pub fn format(&self) -> String {
        match self {
            ServerFinal::Verifier(signature) => format!("v={}", B64.encode(signature)),
            ServerFinal::Error(error) => format!("e={error}"),
        }
    }
}
