//! The bucket an S3 backend keeps one environment's state in: where each object is, and the
//! few operations it needs (get, conditional put, list the commits, delete) as synchronous
//! calls on a runtime of its own.

use std::sync::Arc;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore as _, ObjectStoreExt as _, PutMode, PutOptions, UpdateVersion};

use super::super::remote::Remote;

/// The `backend("s3", ...)` settings, credentials included (kept in memory only).
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) bucket: String,
    pub(crate) prefix: String,
    pub(crate) endpoint: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) access_key: Option<String>,
    pub(crate) secret_key: Option<String>,
}

impl Settings {
    /// `s3 <endpoint>/<bucket>/<prefix>` for messages: never the keys.
    pub(crate) fn describe(&self) -> String {
        let endpoint = self.endpoint.as_deref().unwrap_or("s3:/");
        let mut text = format!("s3 {}/{}", endpoint.trim_end_matches('/'), self.bucket);
        if !self.prefix.is_empty() {
            text.push('/');
            text.push_str(&self.prefix);
        }
        text
    }
}

/// Never shows the keys.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Builds the S3 client's HTTP client as every other of ict's: reqwest on rustls with ring,
/// without a process-wide crypto provider (see `http.rs`).
#[derive(Debug)]
struct Connector;

impl object_store::client::HttpConnector for Connector {
    fn connect(
        &self,
        _: &object_store::ClientOptions,
    ) -> object_store::Result<object_store::client::HttpClient> {
        Ok(object_store::client::HttpClient::new(crate::http::client()))
    }
}

/// An object's bytes and `ETag`.
pub(super) type Object = (Vec<u8>, Option<String>);

/// The outcome of a conditional write.
pub(super) enum Written {
    /// Written; the object's new `ETag`.
    Done(String),
    /// The object was not in the state the write expected.
    Conflict,
}

/// One environment's folder in the bucket.
pub(super) struct Bucket {
    remote: Remote,
    store: Arc<AmazonS3>,
    /// `<prefix>/<env>`
    root: Path,
}

/// Shows where, never the client (whose configuration holds the keys).
impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bucket({})", self.root)
    }
}

impl Bucket {
    pub(super) fn open(settings: &Settings, env: &str) -> Result<Bucket, String> {
        let mut builder = AmazonS3Builder::new()
            .with_http_connector(Connector)
            .with_bucket_name(&settings.bucket)
            .with_region(settings.region.as_deref().unwrap_or("us-east-1"));
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        builder = match (&settings.access_key, &settings.secret_key) {
            (Some(key), Some(secret)) => builder
                .with_access_key_id(key)
                .with_secret_access_key(secret),
            (None, None) => builder.with_skip_signature(true),
            _ => return Err("give both access_key and secret_key, or neither".to_owned()),
        };
        let store = builder.build().map_err(|error| reason(&error))?;
        let root = settings
            .prefix
            .split('/')
            .chain([env])
            .filter(|part| !part.is_empty())
            .collect();
        Ok(Bucket {
            remote: Remote::new("ict-s3")?,
            store: Arc::new(store),
            root,
        })
    }

    pub(super) fn snapshot(&self) -> Path {
        self.root.clone().join("state.json")
    }

    pub(super) fn lock(&self) -> Path {
        self.root.clone().join("lock.json")
    }

    fn log(&self) -> Path {
        self.root.clone().join("log")
    }

    /// The object of the commit that made `version`.
    pub(super) fn commit(&self, version: u64) -> Path {
        self.log().join(format!("{version:020}.json"))
    }

    /// The object's bytes and `ETag`, or `None` if there is none.
    pub(super) fn get(&self, path: &Path) -> Result<Option<Object>, String> {
        let (store, path) = (self.store.clone(), path.clone());
        self.remote
            .run(async move {
                match store.get(&path).await {
                    Ok(found) => {
                        let tag = found.meta.e_tag.clone();
                        Ok(Some((found.bytes().await?.to_vec(), tag)))
                    }
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(error) => Err(error),
                }
            })?
            .map_err(|error| reason(&error))
    }

    /// The object's `ETag`, or `None` if there is none.
    pub(super) fn tag(&self, path: &Path) -> Result<Option<String>, String> {
        let (store, path) = (self.store.clone(), path.clone());
        self.remote
            .run(async move {
                match store.head(&path).await {
                    Ok(meta) => Ok(meta.e_tag),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(error) => Err(error),
                }
            })?
            .map_err(|error| reason(&error))
    }

    /// The versions of the commits in the bucket, in order.
    pub(super) fn commits(&self) -> Result<Vec<u64>, String> {
        let (store, log) = (self.store.clone(), self.log());
        let listed = self
            .remote
            .run(async move { store.list_with_delimiter(Some(&log)).await })?
            .map_err(|error| reason(&error))?;
        let mut versions: Vec<u64> = listed
            .objects
            .iter()
            .filter_map(|meta| {
                meta.location
                    .filename()?
                    .strip_suffix(".json")?
                    .parse()
                    .ok()
            })
            .collect();
        versions.sort_unstable();
        Ok(versions)
    }

    /// Writes `bytes` if the object has the `ETag` `expected`, or — `None` — does not exist.
    pub(super) fn put(
        &self,
        path: &Path,
        bytes: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<Written, String> {
        self.remote.run(put(
            self.store.clone(),
            path.clone(),
            bytes,
            expected.map(str::to_owned),
        ))?
    }

    /// [`Bucket::put`] of `value` as JSON.
    pub(super) fn put_json<T: serde::Serialize>(
        &self,
        path: &Path,
        value: &T,
        expected: Option<&str>,
    ) -> Result<Written, String> {
        self.put(path, json(value)?, expected)
    }

    /// [`Bucket::put_json`] from a task on the bucket's runtime (which must not wait for
    /// itself).
    pub(super) async fn put_json_async<T: serde::Serialize>(
        &self,
        path: &Path,
        value: &T,
        expected: Option<&str>,
    ) -> Result<Written, String> {
        let (store, path) = (self.store.clone(), path.clone());
        put(store, path, json(value)?, expected.map(str::to_owned)).await
    }

    pub(super) fn delete(&self, path: &Path) -> Result<(), String> {
        let (store, path) = (self.store.clone(), path.clone());
        self.remote
            .run(async move {
                match store.delete(&path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(error) => Err(error),
                }
            })?
            .map_err(|error| reason(&error))
    }

    /// Starts `task` on the bucket's runtime (the lease renewal).
    pub(super) fn spawn(
        &self,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Option<tokio::task::AbortHandle> {
        self.remote.spawn(task)
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec_pretty(value).map_err(|error| error.to_string())
}

async fn put(
    store: Arc<AmazonS3>,
    path: Path,
    bytes: Vec<u8>,
    expected: Option<String>,
) -> Result<Written, String> {
    let mode = match expected {
        Some(e_tag) => PutMode::Update(UpdateVersion {
            e_tag: Some(e_tag),
            version: None,
        }),
        None => PutMode::Create,
    };
    let options = PutOptions {
        mode,
        ..PutOptions::default()
    };
    match store.put_opts(&path, bytes.into(), options).await {
        Ok(result) => Ok(Written::Done(result.e_tag.unwrap_or_default())),
        Err(
            object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. },
        ) => Ok(Written::Conflict),
        Err(error) => Err(reason(&error)),
    }
}

/// What went wrong, with its causes.
fn reason(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_never_show_the_keys() {
        let settings = Settings {
            bucket: "ict-state".into(),
            prefix: "shop".into(),
            endpoint: Some("http://127.0.0.1:9000/".into()),
            region: None,
            access_key: Some("AKIAEXAMPLE".into()),
            secret_key: Some("s3cr3t-example".into()),
        };
        assert_eq!(
            settings.describe(),
            "s3 http://127.0.0.1:9000/ict-state/shop"
        );
        assert_eq!(format!("{settings:?}"), settings.describe());
    }
}
