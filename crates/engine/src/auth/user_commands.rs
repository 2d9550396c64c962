//! `createUser`, `updateUser`, `dropUser`, `dropAllUsersFromDatabase` and
//! `usersInfo`, with mongod's argument checks and error codes. Passwords
//! are turned into salted SCRAM credentials here and go no further.

use bson::{Bson, Document, doc};
use mql::Code;

use super::roles;
use super::users::{self, UserName};
use crate::Engine;
use crate::command::{CommandError, Request};

type CommandResult = Result<Document, CommandError>;

fn bad_value(message: impl Into<String>) -> CommandError {
    CommandError::new(Code::BAD_VALUE, message)
}

fn user_not_found(name: &UserName) -> CommandError {
    CommandError::new(
        Code::USER_NOT_FOUND,
        format!(
            "Could not find user \"{}\" for db \"{}\"",
            name.user, name.db
        ),
    )
}

/// The user a `createUser`/`updateUser`/`dropUser` command names.
fn named_user(request: &Request<'_>, command: &str) -> Result<UserName, CommandError> {
    match request.body.get(command) {
        Some(Bson::String(user)) if !user.is_empty() => Ok(UserName {
            user: user.clone(),
            db: request.db.to_owned(),
        }),
        Some(Bson::String(_)) => Err(bad_value("User name must not be empty")),
        _ => Err(CommandError::new(
            Code::TYPE_MISMATCH,
            format!("BSON field '{command}.{command}' is the wrong type, expected type 'string'"),
        )),
    }
}

/// The `roles` array as `{role, db}` documents; a bare name means this db.
pub(super) fn parse_roles(roles: &Bson, db: &str) -> Result<Vec<(String, String)>, CommandError> {
    let Bson::Array(items) = roles else {
        return Err(CommandError::new(
            Code::TYPE_MISMATCH,
            "\"roles\" field must be an array",
        ));
    };
    items
        .iter()
        .map(|item| {
            let (role, role_db) = match item {
                Bson::String(role) => (role.clone(), db.to_owned()),
                Bson::Document(d) => match (d.get_str("role"), d.get_str("db")) {
                    (Ok(role), Ok(role_db)) => (role.to_owned(), role_db.to_owned()),
                    _ => {
                        return Err(bad_value(
                            "Role must have \"role\" and \"db\" string fields",
                        ));
                    }
                },
                _ => return Err(bad_value("Role names must be either strings or objects")),
            };
            if roles::grants(&role, &role_db).is_none() {
                return Err(super::named_error(
                    31,
                    "RoleNotFound",
                    format!("Could not find role: {role}@{role_db}"),
                ));
            }
            Ok((role, role_db))
        })
        .collect()
}

fn roles_bson(roles: &[(String, String)]) -> Vec<Bson> {
    roles
        .iter()
        .map(|(role, db)| Bson::Document(doc! {"role": role, "db": db}))
        .collect()
}

/// The mechanisms to store credentials for (`mechanisms`, default both).
fn parse_mechanisms(body: &Document) -> Result<Vec<scram::Mechanism>, CommandError> {
    let Some(requested) = body.get("mechanisms") else {
        return Ok(vec![
            scram::Mechanism::ScramSha1,
            scram::Mechanism::ScramSha256,
        ]);
    };
    let Bson::Array(items) = requested else {
        return Err(CommandError::new(
            Code::TYPE_MISMATCH,
            "mechanisms field must be an array",
        ));
    };
    let mut mechanisms = Vec::new();
    for item in items {
        let name = item.as_str().unwrap_or_default();
        let mechanism = scram::Mechanism::from_name(name)
            .map_err(|_| bad_value(format!("Unknown auth mechanism '{name}'")))?;
        if !mechanisms.contains(&mechanism) {
            mechanisms.push(mechanism);
        }
    }
    if mechanisms.is_empty() {
        return Err(bad_value("mechanisms field must not be empty"));
    }
    Ok(mechanisms)
}

fn credentials(
    name: &UserName,
    password: &Bson,
    mechanisms: &[scram::Mechanism],
) -> Result<Document, CommandError> {
    let Bson::String(password) = password else {
        return Err(CommandError::new(
            Code::TYPE_MISMATCH,
            "\"pwd\" must be a string",
        ));
    };
    if password.is_empty() {
        return Err(bad_value("Password cannot be empty"));
    }
    let mut credentials = Document::new();
    for mechanism in mechanisms {
        let credential = scram::Credential::new(*mechanism, &name.user, password)
            .map_err(|_| bad_value("Error preparing password: SASLprep rejected it"))?;
        credentials.insert(
            mechanism.name(),
            doc! {
                "iterationCount": i32::try_from(credential.iterations).unwrap_or(i32::MAX),
                "salt": credential.salt_base64(),
                "storedKey": credential.stored_key_base64(),
                "serverKey": credential.server_key_base64(),
            },
        );
    }
    Ok(credentials)
}

fn check_digest_password(body: &Document) -> Result<(), CommandError> {
    match body.get("digestPassword") {
        None | Some(Bson::Boolean(true)) => Ok(()),
        Some(_) => Err(bad_value(
            "Use of SCRAM-SHA-256 requires undigested passwords",
        )),
    }
}

pub fn create_user(engine: &Engine, request: &Request<'_>) -> CommandResult {
    let body = &request.body;
    let name = named_user(request, "createUser")?;
    check_digest_password(body)?;
    let roles = parse_roles(
        body.get("roles").ok_or_else(|| {
            CommandError::new(
                Code(40414),
                "BSON field 'createUser.roles' is missing but a required field",
            )
        })?,
        request.db,
    )?;
    let password = body
        .get("pwd")
        .ok_or_else(|| bad_value("Must provide a 'pwd' field for all user documents, except those with '$external' as the user's source db"))?;
    let credentials = credentials(&name, password, &parse_mechanisms(body)?)?;
    let mut user = doc! {
        "_id": name.id(),
        "userId": Bson::Binary(bson::Binary::from_uuid(bson::Uuid::new())),
        "user": &name.user,
        "db": &name.db,
        "credentials": credentials,
        "roles": roles_bson(&roles),
    };
    if let Some(custom) = body.get("customData") {
        user.insert("customData", custom.clone());
    }
    users::insert(engine, &name, user)?;
    Ok(Document::new())
}

pub fn update_user(engine: &Engine, request: &Request<'_>) -> CommandResult {
    let body = &request.body;
    let name = named_user(request, "updateUser")?;
    check_digest_password(body)?;
    let mut set = Document::new();
    if let Some(roles) = body.get("roles") {
        set.insert("roles", roles_bson(&parse_roles(roles, request.db)?));
    }
    if let Some(password) = body.get("pwd") {
        set.insert(
            "credentials",
            credentials(&name, password, &parse_mechanisms(body)?)?,
        );
    }
    if let Some(custom) = body.get("customData") {
        set.insert("customData", custom.clone());
    }
    if set.is_empty() {
        return Err(bad_value(
            "Must specify at least one field to update in updateUser",
        ));
    }
    match users::update(engine, &name, set)? {
        true => Ok(Document::new()),
        false => Err(user_not_found(&name)),
    }
}

pub fn drop_user(engine: &Engine, request: &Request<'_>) -> CommandResult {
    let name = named_user(request, "dropUser")?;
    match users::delete(engine, doc! {"_id": name.id()})? {
        0 => Err(user_not_found(&name)),
        _ => Ok(Document::new()),
    }
}

pub fn drop_all_users(engine: &Engine, request: &Request<'_>) -> CommandResult {
    let n = users::delete(engine, doc! {"db": request.db})?;
    Ok(doc! {"n": n})
}

/// The users `usersInfo`'s argument names: `1` (all of this db), a name,
/// `{user, db}`, or an array of those; `forAllDBs` is handled by the caller.
pub(super) fn users_info_names(
    argument: &Bson,
    db: &str,
) -> Result<Option<Vec<UserName>>, CommandError> {
    let one = |item: &Bson| match item {
        Bson::String(user) => Ok(UserName {
            user: user.clone(),
            db: db.to_owned(),
        }),
        Bson::Document(d) => match (d.get_str("user"), d.get_str("db")) {
            (Ok(user), Ok(db)) => Ok(UserName {
                user: user.to_owned(),
                db: db.to_owned(),
            }),
            _ => Err(bad_value(
                "User name must contain \"user\" and \"db\" strings",
            )),
        },
        _ => Err(bad_value("User name must be either a string or an object")),
    };
    match argument {
        Bson::Int32(1) | Bson::Int64(1) | Bson::Double(1.0) => Ok(None),
        Bson::Array(items) => items.iter().map(one).collect::<Result<_, _>>().map(Some),
        item => Ok(Some(vec![one(item)?])),
    }
}

pub fn users_info(engine: &Engine, request: &Request<'_>) -> CommandResult {
    let body = &request.body;
    let argument = body.get("usersInfo").cloned().unwrap_or(Bson::Null);
    let all_dbs =
        matches!(&argument, Bson::Document(d) if d.get_bool("forAllDBs").ok() == Some(true));
    let filter = if all_dbs {
        Document::new()
    } else {
        match users_info_names(&argument, request.db)? {
            None => doc! {"db": request.db},
            Some(names) => {
                let ids: Vec<String> = names.iter().map(UserName::id).collect();
                doc! {"_id": {"$in": ids}}
            }
        }
    };
    let show_credentials = body.get_bool("showCredentials").unwrap_or(false);
    let listed = users::list(engine, filter)?
        .into_iter()
        .map(|mut user| {
            let mechanisms = users::mechanisms(&user);
            if !show_credentials {
                user.remove("credentials");
            }
            user.insert("mechanisms", mechanisms);
            Bson::Document(user)
        })
        .collect::<Vec<_>>();
    Ok(doc! {"users": listed})
}
