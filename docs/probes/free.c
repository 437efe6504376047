#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
static void st(const char*tag, char*a){
 char b[1<<16]; FILE*f=fopen("/proc/self/smaps","r"); size_t n=fread(b,1,sizeof b-1,f); b[n]=0; fclose(f);
 char k[32]; snprintf(k,32,"%lx-",(unsigned long)a); char*p=strstr(b,k); if(!p){printf("nf\n");return;}
 const char*keys[]={"Rss:","Pss_Dirty:","Shared_Clean:","Shared_Dirty:","Private_Clean:","Private_Dirty:","Referenced:","Anonymous:","LazyFree:"};
 printf("%-26s",tag); for(int i=0;i<9;i++) printf(" %s%ld",keys[i],strtol(strstr(p,keys[i])+strlen(keys[i]),0,10)); printf("\n"); fflush(stdout);}
int main(){ char*a=mmap((void*)0x40000000,8*4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED,-1,0);
 memset(a,1,4*4096); volatile char c=a[5*4096]; (void)c; st("written 4 + zero 1",a);
 madvise(a,8*4096,MADV_FREE); st("free",a);
 a[0]=2; st("write p0",a); c=a[4096]; st("read p1",a);
 printf("p1=%d\n",a[4096]);
 pid_t p=fork(); if(!p){ st("child",a); _exit(0);} waitpid(p,0,0);
 memset(a+2*4096,3,2); pid_t q=fork(); if(!q){ sleep(1); _exit(0);} madvise(a,8*4096,MADV_FREE); st("free while shared",a); kill(q,9); waitpid(q,0,0);
 st("after child gone",a);
 return 0;}
