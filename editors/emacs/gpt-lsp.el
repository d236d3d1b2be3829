;;; gpt-lsp.el --- gpt-lsp (AI code actions and inline chat) for eglot  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "27.1") (eglot "1.9"))
;; Keywords: tools, languages

;;; Commentary:

;; A thin shim: it starts the `gpt-lsp' server through eglot, passes the settings,
;; and adds commands to type an instruction and to keep, undo or stop a job.
;; Prompts, defaults and all job logic live in the server.
;;
;;   (require 'gpt-lsp)
;;   (setq gpt-lsp-settings '(:baseUrl "https://relay.example/v1" :model "gpt-4o"))
;;   (gpt-lsp-register)   ; then M-x eglot in a buffer of one of `gpt-lsp-modes'

;;; Code:

(require 'eglot)
(require 'jsonrpc)
(require 'cl-lib)
(require 'diff-mode)  ; the faces of a pending edit inherit its
(require 'seq)
(require 'subr-x)
(require 'gpt-lsp-undo)

(defgroup gpt-lsp nil
  "AI code actions and inline chat through the gpt-lsp language server."
  :group 'eglot
  :prefix "gpt-lsp-")

(defcustom gpt-lsp-command '("gpt-lsp")
  "Program and arguments that start the server."
  :type '(repeat string))

(defcustom gpt-lsp-modes '(python-mode js-mode typescript-mode go-mode rust-mode c-mode c++-mode)
  "Major modes `gpt-lsp-register' associates with the server.
Eglot runs one server per buffer: these modes get gpt-lsp instead of
their usual server."
  :type '(repeat symbol))

(defcustom gpt-lsp-settings nil
  "The gpt-lsp settings object, as a plist with camelCase keys.
Your user-level settings, e.g. (:baseUrl \"https://relay/v1\" :model \"gpt-4o\"):
sent as initializationOptions (and by `gpt-lsp-update-settings').  Only the
global value counts: a directory-local value is ignored, so a project cannot
choose your relay.  A :gptLsp section in `eglot-workspace-configuration'
\(dir-locals) is project-level: the server takes model, temperature, exclude,
actions and the like from it, never relays, hosts, keys, headers, proxies, budgets
or weaker privacy switches."
  :type 'plist)
;; A cloned project's .dir-locals.el must not be able to set it (nor the command).
(put 'gpt-lsp-settings 'risky-local-variable t)
(put 'gpt-lsp-command 'risky-local-variable t)

;; BEGIN user-only keys (written by scripts/shim_settings.py from settings/models.py)
(defconst gpt-lsp--user-only-keys
  '("baseUrl" "backupUrls" "relays" "relay" "apiKey" "apiKeyEnv" "headers" "proxy" "budget"
    "logContent" "excludeDefaults" "maskSecrets" "completion")
  "Keys the server takes from user-level settings only.
It ignores them in the gptLsp section, which a project can write.")
;; END user-only keys

(defun gpt-lsp--user-settings ()
  "The user's settings: the global value of `gpt-lsp-settings', never a local one."
  (or (default-value 'gpt-lsp-settings) eglot--{}))

(defun gpt-lsp--user-only-p (key)
  "Non-nil when KEY (:baseUrl, baseUrl or \"baseUrl\") is user-only."
  (member (string-remove-prefix ":" (format "%s" key)) gpt-lsp--user-only-keys))

(defun gpt-lsp--section-settings ()
  "The user's settings without the user-only keys, to answer the gptLsp section.
The server would otherwise take them for a project's and warn about them."
  (let ((settings (default-value 'gpt-lsp-settings)) out)
    (if (consp (car-safe settings))
        ;; An alist ((baseUrl . "...") ...).
        (setq out (cl-remove-if (lambda (pair) (gpt-lsp--user-only-p (car pair))) settings))
      (while settings
        (unless (gpt-lsp--user-only-p (car settings))
          (setq out (append out (list (car settings) (cadr settings)))))
        (setq settings (cddr settings))))
    (or out eglot--{})))

(defclass gpt-lsp-server (eglot-lsp-server) ()
  :documentation "The gpt-lsp server, so its notifications and commands can be handled.")

;;;###autoload
(defun gpt-lsp-register ()
  "Associate `gpt-lsp-modes' with the server in `eglot-server-programs'."
  (interactive)
  (add-to-list 'eglot-server-programs
               (cons gpt-lsp-modes (cons 'gpt-lsp-server gpt-lsp-command))))

(cl-defmethod eglot-initialization-options ((_server gpt-lsp-server))
  "Send the user's `gpt-lsp-settings' as initializationOptions."
  (gpt-lsp--user-settings))

(cl-defmethod eglot-handle-request
  ((_server gpt-lsp-server) (_method (eql workspace/configuration)) &key items)
  "Answer the gptLsp section: dir-locals' if set, else the user's.
The user's without `gpt-lsp--user-only-keys': those go as initializationOptions."
  (let ((answers (cl-call-next-method)))
    (apply #'vector
           (cl-loop for item across items
                    for answer across answers
                    collect (if (and (null answer)
                                     (equal (plist-get item :section) "gptLsp"))
                                (gpt-lsp--section-settings)
                              answer)))))

;;;###autoload
(defun gpt-lsp-update-settings ()
  "Send the current `gpt-lsp-settings' to every running gpt-lsp server.
They replace the initializationOptions the server started with; use it after
changing relays or keys without restarting eglot."
  (interactive)
  (dolist (server (gpt-lsp--servers))
    (jsonrpc-notify server :gptLsp/didChangeUserSettings
                    (list :settings (gpt-lsp--user-settings)))))

(defun gpt-lsp--servers ()
  "The running gpt-lsp servers."
  (let (found)
    (maphash (lambda (_project servers)
               (dolist (server servers)
                 (when (cl-typep server 'gpt-lsp-server) (push server found))))
             eglot--servers-by-project)
    (delete-dups found)))

;;; The server's edits: quiet, and one undo step per job.

(cl-defmethod eglot-handle-request
  ((_server gpt-lsp-server) (_method (eql workspace/applyEdit)) &key edit label &allow-other-keys)
  "Apply the server's edits without a y-or-n-p each, and without messages.
A job's edits (LABEL \"gpt-lsp job-N\") become one undo step when it stops
streaming."
  (if (and (stringp label) (string-match-p "\\`gpt-lsp\\(?: \\|\\'\\)" label)
           (gpt-lsp--apply-quietly edit (gpt-lsp--label-job label)))
      (list :applied t)
    ;; A job sends an edit every few hundred ms; eglot 1.9 would ask to confirm every one.
    (let ((eglot-confirm-server-initiated-edits nil))
      (cl-call-next-method))))

(defun gpt-lsp--label-job (label)
  "The job id an edit's LABEL names, or nil.
\"gpt-lsp job-3\" and \"gpt-lsp job-3 restore\" name job-3."
  (when (string-match "\\`gpt-lsp \\(job-[0-9]+\\)\\(?: restore\\)?\\'" label)
    (match-string 1 label)))

(defun gpt-lsp--apply-quietly (edit job-id)
  "Apply EDIT's versioned document changes as eglot 1.9 does, but without messages.
Eglot's \"Edit successful!\" (and its progress reporter) would clear the echo
area at every streamed batch.  JOB-ID's edit is noted for its undo step.
Returns nil, having done nothing, when a document is not open: eglot then asks."
  (let ((prepared
         (mapcar (lambda (change)
                   (let ((doc (plist-get change :textDocument)))
                     (list (find-buffer-visiting (eglot--uri-to-path (plist-get doc :uri)))
                           (plist-get doc :version)
                           (append (plist-get change :edits) nil))))
                 (append (plist-get edit :documentChanges) nil))))
    (when (and prepared (null (plist-get edit :changes)) (cl-every #'car prepared))
      (pcase-dolist (`(,buffer ,version ,_) prepared)
        (with-current-buffer buffer
          (unless (or (null version) (equal version eglot--versioned-identifier))
            (jsonrpc-error "Edits on `%s' require version %d, you have %d"
                           buffer version eglot--versioned-identifier))))
      (pcase-dolist (`(,buffer ,_ ,edits) prepared)
        (with-current-buffer buffer
          (gpt-lsp--apply-text-edits edits job-id)))
      t)))

(defun gpt-lsp--apply-text-edits (edits job-id)
  "Apply the TextEdits EDITS to this buffer; note JOB-ID's edit.
A job sends one TextEdit at a time."
  (let ((tail buffer-undo-list)
        (noted (and job-id (= (length edits) 1)))
        replaced beg new-text)
    (dolist (edit (reverse edits))
      (pcase-let ((`(,from . ,to) (eglot--range-region (plist-get edit :range) 'markers))
                  (text (plist-get edit :newText)))
        (when noted
          (setq replaced (buffer-substring-no-properties from to)
                beg (marker-position from)
                new-text text))
        (gpt-lsp--replace from to text)
        (set-marker from nil)
        (set-marker to nil)))
    (when noted
      (gpt-lsp-undo-job-edited job-id tail replaced beg new-text))))

(defun gpt-lsp--replace (from to text)
  "Replace FROM..TO (markers) with TEXT, keeping point and marks where they are.
The change hooks run once for the whole range, as in eglot 1.9's own edits, so
didChange reports the edit as one change."
  (let ((source (current-buffer)))
    (with-temp-buffer
      (insert text)
      (let ((temp (current-buffer)))
        (with-current-buffer source
          (save-excursion
            (save-restriction
              (widen)
              (narrow-to-region from to)
              (let ((inhibit-modification-hooks t)
                    (length (- to from))
                    (beg (marker-position from))
                    (end (marker-position to)))
                (run-hook-with-args 'before-change-functions beg end)
                (replace-buffer-contents temp)
                (run-hook-with-args 'after-change-functions
                                    beg (+ beg (length text)) length)))))))))

;;; Notes documents (explain): shown by the server with window/showDocument.

(cl-defmethod eglot-client-capabilities ((_server gpt-lsp-server))
  "Eglot's capabilities, and window/showDocument, which this shim handles."
  (let ((capabilities (cl-call-next-method)))
    (plist-put capabilities :window
               (plist-put (copy-sequence (plist-get capabilities :window))
                          :showDocument (list :support t)))))

(cl-defmethod eglot-handle-request
  ((server gpt-lsp-server) (_method (eql window/showDocument))
   &key uri external takeFocus &allow-other-keys)
  "Show URI (a notes document) in another window, served by SERVER."
  (cond
   ((eq external t) (browse-url uri) (list :success t))
   ((not (file-readable-p (eglot--uri-to-path uri))) (list :success :json-false))
   (t (let ((buffer (gpt-lsp--attached-buffer (eglot--uri-to-path uri) server)))
        (if (eq takeFocus t)
            (pop-to-buffer buffer)
          (display-buffer buffer '(nil (inhibit-same-window . t))))
        (list :success t)))))

(defun gpt-lsp--attached-buffer (path server)
  "A buffer visiting PATH, managed by SERVER.
A notes document lives in the cache directory, outside the source's project:
eglot would give it no server, or start another, so it is attached to SERVER,
the one that wrote it.  It is Markdown, whatever the buffer's mode."
  (let ((buffer (let ((find-file-hook
                       (remq #'eglot--maybe-activate-editing-mode find-file-hook))
                      (after-change-major-mode-hook
                       (remq #'eglot--maybe-activate-editing-mode
                             after-change-major-mode-hook)))
                  (find-file-noselect path))))
    (with-current-buffer buffer
      (unless eglot--managed-mode
        (setq eglot--cached-server server)
        (eglot--managed-mode 1)
        (setq eglot--recent-changes nil eglot--versioned-identifier 0)
        (jsonrpc-notify server :textDocument/didOpen
                        (list :textDocument
                              (append (eglot--VersionedTextDocumentIdentifier)
                                      (list :languageId "markdown"
                                            :text (save-restriction
                                                    (widen)
                                                    (buffer-substring-no-properties
                                                     (point-min) (point-max)))))))))
    buffer))

;;; Jobs under review: the original shown above the region, accept / reject at point.

(defface gpt-lsp-original '((t :inherit diff-removed :extend t))
  "The original text of a pending AI edit, shown above it.")

(defface gpt-lsp-new '((t :inherit diff-added :extend t))
  "The text of a pending AI edit.")

(defvar gpt-lsp-review-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "C-c C-c") #'gpt-lsp-accept)
    (define-key map (kbd "C-c C-k") #'gpt-lsp-reject)
    map)
  "Keys inside a pending AI edit.")

(defvar-local gpt-lsp--reviews nil
  "Overlays of this buffer's jobs under review: an alist (JOB-ID . OVERLAY).")

(defun gpt-lsp--draw-review (job-id status range original)
  "Show JOB-ID's region (RANGE) with ORIGINAL above it, or forget it once ended."
  (let ((old (assoc job-id gpt-lsp--reviews)))
    (when old
      (delete-overlay (cdr old))
      (setq gpt-lsp--reviews (delq old gpt-lsp--reviews))))
  (unless (equal status "running")
    ;; The job stopped streaming: its edits (every turn's) become one undo step.
    (gpt-lsp-undo-job-done job-id (equal status "ended")))
  (unless (equal status "ended")
    (pcase-let* ((`(,beg . ,end) (eglot--range-region range))
                 (overlay (make-overlay beg end nil t nil)))
      (overlay-put overlay 'gpt-lsp-job job-id)
      (overlay-put overlay 'gpt-lsp-status status)
      (overlay-put overlay 'face 'gpt-lsp-new)
      (overlay-put overlay 'keymap gpt-lsp-review-map)
      (overlay-put overlay 'help-echo
                   (format "%s (C-c C-c / C-c C-k)" (gpt-lsp--string 'pending)))
      (unless (string-empty-p original)
        (overlay-put overlay 'before-string
                     (propertize (if (string-suffix-p "\n" original) original (concat original "\n"))
                                 'face 'gpt-lsp-original)))
      (push (cons job-id overlay) gpt-lsp--reviews))))

(cl-defmethod eglot-handle-notification
  ((_server gpt-lsp-server) (_method (eql gptLsp/review))
   &key jobId uri status range original &allow-other-keys)
  "Draw a job under review (running, pending) or remove it (ended)."
  (let ((buffer (find-buffer-visiting (eglot--uri-to-path uri))))
    (when buffer
      (with-current-buffer buffer
        (gpt-lsp--draw-review jobId status range (or original ""))))))

(cl-defmethod eglot-handle-notification
  ((_server gpt-lsp-server) (_method (eql gptLsp/jobFinished))
   &key jobId status message summary notesUri &allow-other-keys)
  "Echo the server's one-line summary as is; a failure's reason goes with it.
The reason came as eglot's \"Server reports\" message too, but the summary
would replace it at once in the echo area."
  (let ((buffer (and notesUri (find-buffer-visiting (eglot--uri-to-path notesUri)))))
    (when buffer
      (with-current-buffer buffer (gpt-lsp-undo-job-done jobId t))))
  (message "%s%s" (or summary (format "AI: %s" status))
           (if message (format " (%s)" message) "")))

(defun gpt-lsp--exec (command argument &optional then)
  "Send COMMAND with ARGUMENT to this buffer's server; call THEN with the result.
Asynchronous on purpose: reject and cancel answer once their edit shows in a
didChange, and eglot sends didChange only while Emacs is idle, never while a
synchronous request blocks it."
  (let ((server (eglot--current-server-or-lose)))
    ;; The job's region is what it works on now: an active region left behind would
    ;; make the next `undo' an undo in region, taking back only part of the job.
    (deactivate-mark)
    ;; Flush pending changes first, so the server sees the text the range refers to.
    (eglot--signal-textDocument/didChange)
    (jsonrpc-async-request
     server :workspace/executeCommand
     (list :command command :arguments (vector argument))
     :success-fn (lambda (result) (when then (funcall then result)))
     :error-fn (lambda (err)
                 (message "gpt-lsp: %s failed: %s" command (plist-get err :message))))))

(cl-defmethod eglot-execute-command ((server gpt-lsp-server) command arguments)
  "Run a code action's COMMAND with ARGUMENTS without blocking Emacs.
eglot waits for the answer synchronously, and sends no didChange meanwhile; the
server answers a reject once the restored text shows in a didChange."
  (deactivate-mark)  ; as for `gpt-lsp--exec': a plain undo must take the whole job back
  (eglot--signal-textDocument/didChange)
  (jsonrpc-async-request
   server :workspace/executeCommand
   (list :command (format "%s" command) :arguments arguments)
   :success-fn #'ignore
   :error-fn (lambda (err)
               (message "gpt-lsp: %s failed: %s" command (plist-get err :message)))))

(defconst gpt-lsp--english
  '((chatPrompt . "AI: ")
    (refinePrompt . "AI (follow-up): ")
    (actionPrompt . "AI action")
    (modelInput . "Model (now {current}): ")
    (modelSet . "{relay} relay: {model}")
    (noJobAccept . "no AI job to accept at the cursor or in this buffer")
    (noJobReject . "no AI job to reject at the cursor or in this buffer")
    (noJobCancel . "no AI job to cancel at the cursor or in this buffer")
    (pending . "AI edit pending: accept or reject")
    (chatPick . "Chat to open")
    (noChats . "no chats in this workspace yet"))
  "The shim's own words, unless the server gives them (`gptLsp.status' strings).")

(defvar gpt-lsp--strings nil
  "The shim's own words in the UI language, from the last `gptLsp.status': a plist.")

(defun gpt-lsp--status ()
  "The server's `gptLsp.status' (asked each time: it answers at once).
It also keeps the shim's own words in the UI language (`gpt-lsp--string')."
  (let ((status (jsonrpc-request (eglot--current-server-or-lose) :workspace/executeCommand
                                 (list :command "gptLsp.status" :arguments []))))
    (when (plist-get status :strings)
      (setq gpt-lsp--strings (plist-get status :strings)))
    status))

(defun gpt-lsp--string (key &rest fields)
  "The shim's word KEY in the UI language, with FIELDS (NAME VALUE ...) filled in.
The server translates them; English until it has answered a `gptLsp.status'."
  (let ((text (or (plist-get gpt-lsp--strings (intern (format ":%s" key)))
                  (alist-get key gpt-lsp--english))))
    (while fields
      (setq text (replace-regexp-in-string (regexp-quote (format "{%s}" (car fields)))
                                           (format "%s" (cadr fields)) text t t)
            fields (cddr fields)))
    text))

(defun gpt-lsp--actions ()
  "The server's actions, from gptLsp.status: a list of (:id :title :kind :output).
Asked each time (the server answers at once), so a settings change that adds
actions shows at the next call."
  (append (plist-get (gpt-lsp--status) :actions) nil))

(defun gpt-lsp--range (beg end)
  "LSP range of BEG..END in the current buffer."
  (list :start (eglot--pos-to-lsp-position beg)
        :end (eglot--pos-to-lsp-position end)))

(defun gpt-lsp--region-or-line ()
  "The active region, else the current line."
  (if (use-region-p)
      (list (region-beginning) (region-end))
    (list (line-beginning-position) (line-beginning-position 2))))

(defun gpt-lsp--region-or-point ()
  "The active region, else point: the server takes the definition around it."
  (if (use-region-p)
      (list (region-beginning) (region-end))
    (list (point) (point))))

(defun gpt-lsp--code-action-bounds (bounds &rest args)
  "Without a region, ask gpt-lsp's code actions at point: an empty range.
Eglot 1.9 sends the sexp at point (the word `result'), which makes the server
offer actions on that word instead of on the definition around point.  BOUNDS
is eglot's function and ARGS its arguments."
  (if (and (not (use-region-p)) (cl-typep (eglot-current-server) 'gpt-lsp-server))
      (list (point) (point))
    (apply bounds args)))

(advice-add 'eglot--region-bounds :around #'gpt-lsp--code-action-bounds)
(when (fboundp 'eglot--code-action-bounds)  ; the eglot of Emacs 29+
  (advice-add 'eglot--code-action-bounds :around #'gpt-lsp--code-action-bounds))

;;;###autoload
(defun gpt-lsp-chat (beg end instruction &optional follow-up)
  "Rewrite BEG..END (region, else the line) following INSTRUCTION.
Interactively, with no active region and point inside a pending AI edit, it is a
FOLLOW-UP turn of that job: the server rewrites the job's region, knowing the
conversation so far."
  (interactive
   (let ((follow-up (and (not (use-region-p)) (gpt-lsp--job-at (point)) t)))
     (ignore-errors (gpt-lsp--status))  ; the prompt in the UI language
     (append (gpt-lsp--region-or-line)
             (list (read-string (gpt-lsp--string (if follow-up 'refinePrompt 'chatPrompt)))
                   follow-up))))
  (unless (string-empty-p instruction)
    (gpt-lsp--exec "gptLsp.chat"
                   (if follow-up
                       (list :uri (eglot--path-to-uri (buffer-file-name))
                             :position (eglot--pos-to-lsp-position (point))
                             :instruction instruction)
                     (list :uri (eglot--path-to-uri (buffer-file-name))
                           :range (gpt-lsp--range beg end)
                           :instruction instruction)))))

(defun gpt-lsp--job-at (pos)
  "The id of the job under review whose region holds POS, or nil."
  (cl-some (lambda (overlay) (overlay-get overlay 'gpt-lsp-job)) (overlays-at pos)))

;;;###autoload
(defun gpt-lsp-action (beg end action)
  "Run the server's ACTION (an id such as refactor) on BEG..END.
Interactively, pick it by title from the actions the server lists; it works on
the region, else on the definition around point (the server finds it)."
  (interactive
   (append (gpt-lsp--region-or-point)
           (let* ((actions (gpt-lsp--actions))
                  (titles (mapcar (lambda (a) (cons (plist-get a :title) (plist-get a :id)))
                                  actions))
                  (picked (completing-read (format "%s: " (gpt-lsp--string 'actionPrompt))
                                           titles nil nil)))
             ;; A title picked from the list, or an id typed as is.
             (list (or (cdr (assoc picked titles)) picked)))))
  (unless (string-empty-p action)
    (gpt-lsp--exec "gptLsp.run" (list :action action
                                      :uri (eglot--path-to-uri (buffer-file-name))
                                      :range (gpt-lsp--range beg end)))))

(defun gpt-lsp--job-command (command none job-id)
  "Run COMMAND on JOB-ID, else on the job at point.
Without an id the server picks: the job whose region holds point, else the
buffer's most recent job.  NONE is the key of the message when there is none."
  (gpt-lsp--exec command
                 (if job-id
                     (list :jobId job-id)
                   (let ((at (eglot--TextDocumentPositionParams)))
                     (list :uri (plist-get (plist-get at :textDocument) :uri)
                           :position (plist-get at :position))))
                 (lambda (result)
                   (unless (eq (plist-get result :ok) t)
                     (message "gpt-lsp: %s" (gpt-lsp--string none))))))

;;;###autoload
(defun gpt-lsp-accept (&optional job-id)
  "Keep the text of the job at point, or of JOB-ID.
Without JOB-ID: the job whose region holds point, else the buffer's most recent."
  (interactive)
  (gpt-lsp--job-command "gptLsp.accept" 'noJobAccept job-id))

;;;###autoload
(defun gpt-lsp-reject (&optional job-id)
  "Put back the original text of the job at point, or of JOB-ID.
Without JOB-ID: the job whose region holds point, else the buffer's most recent."
  (interactive)
  (gpt-lsp--job-command "gptLsp.reject" 'noJobReject job-id))

;;;###autoload
(defun gpt-lsp-cancel (&optional job-id)
  "Stop the running job at point (else the buffer's most recent running job).
Its original text comes back.  With JOB-ID, stop that job."
  (interactive)
  (gpt-lsp--job-command "gptLsp.cancel" 'noJobCancel job-id))

;;;###autoload
(defun gpt-lsp-select-model (model)
  "Set MODEL for the default relay's jobs, for this session.
Interactively, pick from the models the relay lists (any name can be typed)."
  (interactive
   (let* ((listed (jsonrpc-request (eglot--current-server-or-lose) :workspace/executeCommand
                                   (list :command "gptLsp.selectModel" :arguments [])))
          (models (append (plist-get listed :models) nil))
          (current (plist-get listed :current)))
     (when (plist-get listed :message)
       (message "gpt-lsp: %s" (plist-get listed :message)))
     (ignore-errors (gpt-lsp--status))  ; the prompt in the UI language
     (list (completing-read (gpt-lsp--string 'modelInput "current" current)
                            models nil nil nil nil current))))
  (unless (string-empty-p model)
    (gpt-lsp--exec "gptLsp.selectModel" (list :model model)
                   (lambda (result)
                     (message "gpt-lsp: %s"
                              (gpt-lsp--string 'modelSet "relay" (plist-get result :relay)
                                               "model" (plist-get result :current)))))))

;;; Status

;;;###autoload
(defun gpt-lsp-status ()
  "Show the relays and models, the running jobs, today's and this month's spend.
The server writes the lines, in the UI language."
  (interactive)
  (message "%s" (string-join (append (plist-get (gpt-lsp--status) :lines) nil) "\n")))

(provide 'gpt-lsp)
(require 'gpt-lsp-chat)  ; chat documents: `gpt-lsp-chat-new', `gpt-lsp-chats'
;;; gpt-lsp.el ends here
