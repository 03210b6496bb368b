/* The editor's video: upload with a progress bar (XHR to web.posts.upload_body_image, which stores an
 * MP4 as a video streamed to disk), then play the stored file and capture one frame onto a canvas,
 * uploaded as an image and used as the post's cover unless the editor picks a cover image. */
(function () {
  "use strict";
  var form = document.getElementById("post-form");
  var field = document.getElementById("video-field");
  if (!form || !field) { return; }
  var input = document.getElementById("video-file");
  var idInput = document.getElementById("video-id");
  var coverInput = document.getElementById("video-cover-id");
  var bar = document.getElementById("video-progress");
  var status = document.getElementById("video-status");
  var player = document.getElementById("video-preview");
  var remove = document.getElementById("video-remove");
  var save = document.getElementById("save-post");
  var csrf = form.querySelector("input[name=csrf_token]");
  var url = form.dataset.mediaUrl;
  var L = field.dataset;

  function say(text) { status.textContent = text; }

  function send(blob, name, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      var body = new FormData();
      body.append("file", blob, name);
      if (form.dataset.postId) { body.append("post_id", form.dataset.postId); }
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRFToken", csrf ? csrf.value : "");
      xhr.setRequestHeader("Accept", "application/json");
      if (onProgress) {
        xhr.upload.onprogress = function (e) { if (e.lengthComputable) { onProgress(e.loaded / e.total); } };
      }
      xhr.onload = function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (err) { data = null; }
        if (xhr.status === 201 && data) { resolve(data); return; }
        reject(new Error(data && data.error && data.error.message ? data.error.message : L.labelFailed));
      };
      xhr.onerror = function () { reject(new Error(L.labelFailed)); };
      xhr.send(body);
    });
  }

  function captureCover() {
    var canvas = document.createElement("canvas");
    canvas.width = player.videoWidth;
    canvas.height = player.videoHeight;
    if (!canvas.width || !canvas.height) { return; }
    canvas.getContext("2d").drawImage(player, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(function (blob) {
      if (!blob) { return; }
      send(blob, "cover.jpg").then(function (img) {
        coverInput.value = String(img.id);
        field.dataset.coverReady = "1";
        say(L.labelUploaded);
      }, function () { say(L.labelUploaded); });
    }, "image/jpeg", 0.85);
  }

  function playStored(src) {
    player.hidden = false;
    var captured = false;
    player.addEventListener("loadeddata", function () {
      player.currentTime = Math.min(1, (player.duration || 0) / 2);
    }, {once: true});
    player.addEventListener("seeked", function () {
      if (!captured) { captured = true; captureCover(); }
    });
    player.src = src;
  }

  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    if (!file) { return; }
    bar.hidden = false;
    bar.value = 0;
    say(L.labelUploading);
    if (save) { save.disabled = true; }
    send(file, file.name, function (f) { bar.value = Math.round(f * 100); }).then(function (media) {
      bar.value = 100;
      if (media.kind !== "video") { throw new Error(L.labelFailed); }
      idInput.value = String(media.id);
      field.dataset.videoId = String(media.id);
      remove.hidden = false;
      say(L.labelUploaded);
      playStored(media.url);
    }).catch(function (err) {
      say(err.message || L.labelFailed);
      bar.hidden = true;
    }).then(function () {
      if (save) { save.disabled = false; }
    });
  });

  remove.addEventListener("click", function () {
    idInput.value = "";
    coverInput.value = "";
    player.removeAttribute("src");
    player.hidden = true;
    remove.hidden = true;
    say(L.labelRemoved);
  });
}());
