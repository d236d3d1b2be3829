;;; gpt-lsp-chat.el --- chat documents of gpt-lsp  -*- lexical-binding: t; -*-

;; A chat is a Markdown file the server writes in the user's data directory: the
;; conversation under `## You' and `## AI' headings.  `gpt-lsp-chat-new' opens one (with
;; the region, and a question: the first reply starts at once), `C-c C-c' in it sends it
;; for a reply, `C-c C-k' stops a reply keeping what came, `gpt-lsp-chats' picks one of the
;; workspace's chats.  Applying an answer's code is the code action `AI: Apply to FILE'.

;;; Code:

(require 'gpt-lsp)

(defconst gpt-lsp-chat--marker "<!-- gpt-lsp chat"
  "The first line of every chat document.")

(defvar gpt-lsp-chat-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "C-c C-c") #'gpt-lsp-chat-reply)
    (define-key map (kbd "C-c C-k") #'gpt-lsp-chat-cancel)
    map)
  "Keys in a chat document.")

(define-minor-mode gpt-lsp-chat-mode
  "A gpt-lsp chat: \\[gpt-lsp-chat-reply] replies, \\[gpt-lsp-chat-cancel] stops a reply."
  :lighter " AI-chat"
  :keymap gpt-lsp-chat-mode-map)

(defun gpt-lsp-chat--p ()
  "Non-nil when the current buffer is a chat document."
  (save-excursion
    (save-restriction
      (widen)
      (goto-char (point-min))
      (looking-at-p (regexp-quote gpt-lsp-chat--marker)))))

(defun gpt-lsp-chat--maybe-enable ()
  "Turn `gpt-lsp-chat-mode' on in a chat document."
  (when (and (not gpt-lsp-chat-mode) (gpt-lsp-chat--p))
    (gpt-lsp-chat-mode 1)))

(add-hook 'find-file-hook #'gpt-lsp-chat--maybe-enable)

(defun gpt-lsp-chat--open (uri server)
  "Show the chat URI in another window, served by SERVER; point at its end."
  (let ((buffer (gpt-lsp--attached-buffer (eglot--uri-to-path uri) server)))
    (pop-to-buffer buffer '(nil (inhibit-same-window . t)))
    (gpt-lsp-chat--maybe-enable)
    (goto-char (point-max))
    buffer))

(defun gpt-lsp-chat--uri ()
  "This buffer's URI."
  (eglot--path-to-uri (buffer-file-name)))

;;;###autoload
(defun gpt-lsp-chat-new (beg end question)
  "Open a new chat about BEG..END (the region; none without one), asking QUESTION.
With a question the first reply starts at once; an empty one opens the chat to write in."
  (interactive
   (append (if (use-region-p) (list (region-beginning) (region-end)) (list nil nil))
           (list (read-string (gpt-lsp--string 'chatPrompt)))))
  (let ((server (eglot--current-server-or-lose))
        (argument (list :uri (gpt-lsp-chat--uri))))
    (if beg
        (setq argument (append argument (list :range (gpt-lsp--range beg end))))
      (setq argument (append argument (list :position (eglot--pos-to-lsp-position (point))))))
    (unless (string-empty-p question)
      (setq argument (append argument (list :instruction question))))
    (gpt-lsp--exec "gptLsp.chatOpen" argument
                   (lambda (result) (gpt-lsp-chat--open (plist-get result :uri) server)))))

;;;###autoload
(defun gpt-lsp-chat-reply ()
  "Send this chat for a reply, streamed under a new AI heading."
  (interactive)
  (gpt-lsp--exec "gptLsp.chatReply" (list :uri (gpt-lsp-chat--uri))))

(defun gpt-lsp-chat-cancel ()
  "Stop this chat's reply, keeping what came."
  (interactive)
  (gpt-lsp--exec "gptLsp.chatCancel" (list :uri (gpt-lsp-chat--uri))))

;;;###autoload
(defun gpt-lsp-chats ()
  "Pick one of this workspace's chats (newest first) and open it."
  (interactive)
  (let ((server (eglot--current-server-or-lose)))
    (gpt-lsp--exec
     "gptLsp.chatList" nil
     (lambda (result)
       (let* ((chats (append (plist-get result :chats) nil))
              (items (mapcar (lambda (chat)
                               (cons (format "%s  (%s)" (plist-get chat :title)
                                             (plist-get chat :updated))
                                     (plist-get chat :uri)))
                             chats)))
         (if (null items)
             (message "gpt-lsp: %s" (gpt-lsp--string 'noChats))
           (let ((picked (completing-read (gpt-lsp--string 'chatPick) items nil t)))
             (when-let ((uri (cdr (assoc picked items))))
               (gpt-lsp-chat--open uri server)))))))))

(cl-defmethod eglot-handle-notification
  ((_server gpt-lsp-server) (_method (eql gptLsp/chatReplied)) &key uri position
   &allow-other-keys)
  "A reply ended: point goes under the new heading of the chat in the selected window."
  (let ((buffer (window-buffer (selected-window))))
    (when (and position (buffer-file-name buffer)
               (equal (eglot--path-to-uri (buffer-file-name buffer)) uri))
      (with-current-buffer buffer
        (goto-char (eglot--lsp-position-to-point position))))))

(provide 'gpt-lsp-chat)
;;; gpt-lsp-chat.el ends here
