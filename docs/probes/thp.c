#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#define M (1ul<<20)
#define MADV_COLLAPSE 25
static void st(const char*tag, char *base, size_t len){
 char b[1<<16]; FILE*f=fopen("/proc/self/smaps","r"); size_t n=fread(b,1,sizeof b-1,f); b[n]=0; fclose(f);
 unsigned long anon=0,rss=0,ahp=0,pss=0,sd=0,pd=0; char *p=b;
 while((p=strchr(p,'\n'))){p++; unsigned long s,e; if(sscanf(p,"%lx-%lx ",&s,&e)==2 && s>=(unsigned long)base && e<=(unsigned long)base+len){
   char*q=strstr(p,"Rss:"); rss+=strtoul(q+4,0,10); q=strstr(p,"Pss:"); pss+=strtoul(q+4,0,10);
   q=strstr(p,"Shared_Dirty:"); sd+=strtoul(q+13,0,10); q=strstr(p,"Private_Dirty:"); pd+=strtoul(q+14,0,10);
   q=strstr(p,"Anonymous:"); anon+=strtoul(q+10,0,10); q=strstr(p,"AnonHugePages:"); ahp+=strtoul(q+14,0,10);}}
 f=fopen("/proc/self/status","r"); char l[256]; unsigned long ra=0; while(fgets(l,256,f)) if(!strncmp(l,"RssAnon:",8)) ra=strtoul(l+8,0,10); fclose(f);
 printf("%-28s rss=%lu pss=%lu sd=%lu pd=%lu anon=%lu ahp=%lu RssAnon=%lu\n",tag,rss,pss,sd,pd,anon,ahp,ra); fflush(stdout);}
int main(){
 char *raw=mmap(0,12*M,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
 char *a=(char*)(((unsigned long)raw+2*M-1)&~(2*M-1)); size_t L=8*M;
 munmap(raw,a-raw); munmap(a+L,raw+12*M-(a+L));
 st("start",a,L);
 madvise(a,L,MADV_HUGEPAGE);
 volatile char c=a[5]; (void)c; st("read a[5]",a,L);
 a[6]=1; st("write a[6]",a,L);
 a[2*M+7]=1; st("write a[2M+7]",a,L);
 mprotect(a+2*M+4096,4096,PROT_READ); st("mprotect 1 page in PMD2",a,L);
 mprotect(a+2*M+4096,4096,PROT_READ|PROT_WRITE); st("mprotect back",a,L);
 madvise(a+4096,4096,MADV_DONTNEED); st("dontneed 1 page PMD1",a,L);
 a[4*M]=1; st("write a[4M]",a,L);
 pid_t p=fork(); if(!p){ st("child",a,L); a[4*M+4096]=2; st("child write 4M+4K",a,L); c=a[6*M]; st("child read 6M", a,L); a[6*M+1]=1; st("child write 6M",a,L); _exit(0);} waitpid(p,0,0);
 st("parent after child",a,L);
 int r=madvise(a,2*M,MADV_COLLAPSE); printf("collapse PMD1 r=%d\n",r); st("after collapse",a,L);
 r=madvise(a+6*M,2*M,MADV_COLLAPSE); printf("collapse empty PMD r=%d\n",r);
 madvise(a+2*M,2*M,MADV_DONTNEED); st("dontneed PMD2",a,L);
 a[2*M+100]=1; st("write PMD2 again (table kept?)",a,L);
 return 0;}
